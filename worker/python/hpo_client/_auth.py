# hpo_client._auth: where the client's credentials come from — the bearer token (argument, token
# file, env HPO_TOKEN / HPO_TOKEN_FILE) and the CA that verifies an https server (HPO_CACERT).
"""Credentials of a :class:`hpo_client.Client`.

The token comes from the first of: ``token=``, ``token_file=`` (its first line, surrounding
whitespace stripped), env ``HPO_TOKEN``, env ``HPO_TOKEN_FILE``. An argument beats the
environment; a token and a token file together are an error (both as arguments, or both in the
environment), as for hpo-worker and the ``hpo`` command. ``cacert=`` / env ``HPO_CACERT`` names
the CA file that verifies an https server; without it the system's CAs do. The host name is
always checked.

The token is kept out of every repr and message: an object here says where its token came from,
never what it is.
"""

import os
import re
import ssl

# What may go into an HTTP header value; anything else (a newline above all) would let a token
# file inject headers, and http.client's own refusal would print the value.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+\Z")


def _read_token_file(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
    except OSError as e:
        raise ValueError("cannot read the token file %s (%s): %s"
                         % (path, what, e.strerror or type(e).__name__)) from None
    except UnicodeDecodeError:
        raise ValueError("the token file %s (%s) is not UTF-8 text" % (path, what)) from None
    token = first.strip()
    if not token:
        raise ValueError("the token file %s (%s) has no token on its first line" % (path, what))
    return token


def _check(token, source):
    if not isinstance(token, str):
        raise TypeError("the token (%s) must be a str, got %s" % (source, type(token).__name__))
    if not _HEADER_SAFE.match(token):
        # never show the token: it may be a real one with a stray character
        raise ValueError("the token (%s) is empty or has characters a token cannot have "
                         "(spaces, newlines, non-ASCII)" % source)
    return token


class Credentials:
    """The token (or none) and the TLS settings of one client; compare equal when they would
    send the same thing."""

    __slots__ = ("_token", "source", "cacert")

    def __init__(self, token=None, source=None, cacert=None):
        self._token = token
        self.source = source    # where the token came from, e.g. "HPO_TOKEN"; None: no token
        self.cacert = cacert

    @property
    def has_token(self):
        return self._token is not None

    def header(self):
        """The Authorization header value, or None without a token."""
        return None if self._token is None else "Bearer " + self._token

    def key(self):
        """What distinguishes two clients of the same URL (kept in memory only)."""
        return (self._token, self.cacert)

    def redact(self, text):
        """text with the token, should it appear, replaced."""
        if self._token and isinstance(text, str) and self._token in text:
            return text.replace(self._token, "<token>")
        return text

    def ssl_context(self):
        """A verifying TLS context: the CA file cacert, else the system's CAs; host name
        checked."""
        try:
            return ssl.create_default_context(cafile=self.cacert)
        except (OSError, ssl.SSLError) as e:
            raise ValueError("cannot load the CA file %s: %s"
                             % (self.cacert, getattr(e, "strerror", None) or e)) from None

    def __repr__(self):
        return "Credentials(token=%s, cacert=%r)" % (
            "<hidden, from %s>" % self.source if self.source else None, self.cacert)


def resolve(token=None, token_file=None, cacert=None, environ=None):
    """The Credentials from the arguments, else the environment (see the module's doc)."""
    env = os.environ if environ is None else environ
    if token is not None and token_file is not None:
        raise ValueError("give either token or token_file, not both")
    if token is not None:
        tok, source = _check(token, "the token argument"), "the token argument"
    elif token_file is not None:
        path = os.fspath(token_file)
        source = "the token file %s (token_file=)" % path
        tok = _check(_read_token_file(path, "token_file="), source)
    else:
        env_token, env_file = env.get("HPO_TOKEN") or None, env.get("HPO_TOKEN_FILE") or None
        if env_token is not None and env_file is not None:
            raise ValueError("both HPO_TOKEN and HPO_TOKEN_FILE are set; set only one")
        if env_token is not None:
            tok, source = _check(env_token.strip(), "HPO_TOKEN"), "HPO_TOKEN"
        elif env_file is not None:
            source = "the token file %s (HPO_TOKEN_FILE)" % env_file
            tok = _check(_read_token_file(env_file, "HPO_TOKEN_FILE"), source)
        else:
            tok, source = None, None
    if cacert is None:
        cacert = env.get("HPO_CACERT") or None
    elif not isinstance(cacert, (str, os.PathLike)):
        raise TypeError("cacert must be a path, got %s" % type(cacert).__name__)
    if cacert is not None:
        cacert = os.fspath(cacert)
    return Credentials(tok, source, cacert)
