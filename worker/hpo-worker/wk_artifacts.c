/* wk_artifacts: trial directories, tar checkpoints and artifact transfers. */
#include "wk_artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hpo_log.h"
#include "wk_proc.h"

int wk_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -errno;
            *p = c;
            if (c == '\0')
                return 0;
        }
    }
}

int wk_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char sub[4096];
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) {
            rc = -ENAMETOOLONG;
            continue;
        }
        int r = wk_remove_tree(sub);
        if (r < 0)
            rc = r;
    }
    closedir(d);
    if (rmdir(path) != 0 && errno != ENOENT && rc == 0)
        rc = -errno;
    return rc;
}

static hpo_rc run_tar(char *const argv[], hpo_error *err)
{
    int st = wk_proc_run(argv);
    if (st < 0)
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "cannot run tar: %s", strerror(-st));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char why[96];
        wk_proc_describe(st, why, sizeof why);
        return hpo_error_set(err, HPO_E_INTERNAL, NULL, "tar %s %s failed: %s", argv[3], argv[2],
                             why);
    }
    return HPO_OK;
}

hpo_rc wk_tar_pack(const char *dir, const char *file, hpo_error *err)
{
    char *argv[] = {"tar", "-C", (char *)dir, "-cf", (char *)file, ".", NULL};
    return run_tar(argv, err);
}

hpo_rc wk_tar_unpack(const char *file, const char *dir, hpo_error *err)
{
    char *argv[] = {"tar", "-C", (char *)dir, "-xf", (char *)file, NULL};
    return run_tar(argv, err);
}

hpo_rc wk_artifact_fetch(hpo_client *c, const char *study, int64_t number, const char *name,
                         const char *file, long wait_ms, hpo_error *err)
{
    for (long waited = 0;; waited += 500) {
        hpo_rc rc = hpo_client_artifact_get(c, study, number, name, file, err);
        if (rc != HPO_E_NOT_FOUND || waited >= wait_ms)
            return rc;
        nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 500000000L}, NULL);
    }
}

int wk_artifacts_upload_dir(hpo_client *c, const char *study, int64_t number, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int failed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (strcmp(e->d_name, "log") == 0 || strncmp(e->d_name, "checkpoint", 10) == 0) {
            hpo_log(HPO_LOG_WARN, "trial %s/%lld: artifact %s not uploaded: the name is reserved",
                    study, (long long)number, e->d_name);
            continue;
        }
        hpo_error err;
        hpo_error_clear(&err);
        if (hpo_client_artifact_put(c, study, number, e->d_name, path, &err) != HPO_OK) {
            hpo_log(HPO_LOG_WARN, "trial %s/%lld: artifact %s not uploaded: %s", study,
                    (long long)number, e->d_name, err.message);
            failed++;
        }
    }
    closedir(d);
    return failed;
}
