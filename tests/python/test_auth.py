# tests/python/test_auth.py: the client against the real hpo-server with auth on: no, wrong, revoked
# token (401); a token file; a read token cannot ask (403); a token bound to one study.
import os
import secrets
import tempfile
import unittest
from unittest import mock

import hpo_client as optuna
from hpo_client._http import Client

from hpotest import TOKEN, URL, name

SPACE = {"x": {"type": "float", "low": -1, "high": 1}}


def no_token_env():
    """os.environ without HPO_TOKEN / HPO_TOKEN_FILE, for a with block."""
    env = {k: v for k, v in os.environ.items() if k not in ("HPO_TOKEN", "HPO_TOKEN_FILE")}
    return mock.patch.dict(os.environ, env, clear=True)


class TestAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert TOKEN, "HPO_TEST_TOKEN is not set (run me with run_tests.py)"
        cls.admin = Client(URL, token=TOKEN)

    def new_token(self, scope, **restrict):
        """A token made by the admin through POST /api/v1/tokens: (id, token)."""
        body = dict(scope=scope, name="test_auth " + scope, **restrict)
        d = self.admin.post("/tokens", body).body
        self.assertEqual(d["scope"], scope)
        self.assertTrue(d["token"].startswith("hpo_"), "not a token")
        return d["id"], d["token"]

    def assertNoSecret(self, exc, token):
        for text in (str(exc), repr(exc), exc.message):
            self.assertNotIn(token, text)
            self.assertNotIn(token[4:24], text)

    def test_without_a_token_every_call_is_refused(self):
        with no_token_env():
            with self.assertRaises(optuna.UnauthenticatedError) as cm:
                optuna.create_study(storage=URL, study_name=name("auth-none"))
            self.assertEqual((cm.exception.status, cm.exception.code), (401, "unauthenticated"))
            self.assertIn("no token was sent", str(cm.exception))
            with self.assertRaises(optuna.UnauthenticatedError):
                optuna.get_all_study_names(storage=URL)
        # the study was not made: the admin does not see it
        self.assertFalse([n for n in optuna.get_all_study_names(storage=URL, token=TOKEN)
                          if n.startswith("auth-none")])

    def test_token_file_argument_and_environment(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "token")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write("  %s \n# only the first line is read\n" % TOKEN)
            with no_token_env():
                st = optuna.create_study(storage=URL, study_name=name("auth-file"),
                                         search_space=SPACE, token_file=path)
                t = st.ask()
                st.tell(t, 1.0)
                os.environ["HPO_TOKEN_FILE"] = path
                self.assertEqual(len(optuna.load_study(study_name=st.study_name,
                                                       storage=URL).trials), 1)

    def test_read_token_reads_but_cannot_ask(self):
        st = optuna.create_study(storage=URL, study_name=name("auth-read"), search_space=SPACE,
                                 token=TOKEN)
        st.tell(st.ask(), 0.5)
        _, read = self.new_token("read")
        ro = optuna.load_study(study_name=st.study_name, storage=URL, token=read)
        self.assertEqual(ro.best_value, 0.5)                       # every GET is allowed
        with self.assertRaises(optuna.PermissionDeniedError) as cm:
            ro.ask()
        e = cm.exception
        self.assertEqual((e.status, e.code), (403, "permission_denied"))
        self.assertNoSecret(e, read)
        with self.assertRaises(optuna.PermissionDeniedError):
            optuna.create_study(storage=URL, study_name=name("auth-read2"), token=read)
        with self.assertRaises(optuna.PermissionDeniedError):
            Client(URL, token=read).post("/tokens", {"scope": "admin"})

    def test_worker_token_bound_to_one_study(self):
        mine = optuna.create_study(storage=URL, study_name=name("auth-mine"),
                                   search_space=SPACE, token=TOKEN)
        other = optuna.create_study(storage=URL, study_name=name("auth-other"),
                                    search_space=SPACE, token=TOKEN)
        _, tok = self.new_token("worker", study=mine.study_name)
        w = optuna.load_study(study_name=mine.study_name, storage=URL, token=tok)
        w.tell(w.ask(), 0.25)
        with self.assertRaises(optuna.PermissionDeniedError):
            optuna.load_study(study_name=other.study_name, storage=URL, token=tok).ask()
        with self.assertRaises(optuna.PermissionDeniedError):   # creating needs admin
            optuna.create_study(storage=URL, study_name=mine.study_name + "-2", token=tok)

    def test_wrong_and_revoked_tokens_are_refused(self):
        wrong = "hpo_" + secrets.token_urlsafe(32)   # well formed, never issued
        with self.assertRaises(optuna.UnauthenticatedError) as cm:
            optuna.get_all_study_summaries(storage=URL, token=wrong)
        self.assertNoSecret(cm.exception, wrong)
        self.assertIn("refused", str(cm.exception))
        with self.assertRaises(optuna.UnauthenticatedError):
            optuna.get_all_study_names(storage=URL, token=TOKEN[:-1] + ("A" if TOKEN[-1] != "A"
                                                                         else "B"))
        tid, tok = self.new_token("read")
        c = Client(URL, token=tok)
        c.get("/studies")                                        # works until revoked
        self.admin.delete("/tokens/%d" % tid)
        with self.assertRaises(optuna.UnauthenticatedError) as cm:
            c.get("/studies")
        self.assertNoSecret(cm.exception, tok)


if __name__ == "__main__":
    unittest.main()
