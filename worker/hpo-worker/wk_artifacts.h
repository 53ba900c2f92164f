/* wk_artifacts: a trial's files: its directories, the checkpoint (tar) moved as the `checkpoint`
 * artifact, and the files a command leaves in HPO_ARTIFACT_DIR uploaded as artifacts. */
#ifndef WK_ARTIFACTS_H
#define WK_ARTIFACTS_H

#include <stdint.h>

#include "hpo_client.h"

/* mkdir -p (mode 0700). 0 or -errno. */
int wk_mkdirs(const char *path);
/* rm -rf; a missing path is fine. 0 or -errno. */
int wk_remove_tree(const char *path);

/* `tar -C dir -cf file .` and `tar -C dir -xf file`. HPO_E_INTERNAL with a message on failure. */
hpo_rc wk_tar_pack(const char *dir, const char *file, hpo_error *err);
hpo_rc wk_tar_unpack(const char *file, const char *dir, hpo_error *err);

/* Downloads artifact `name` of the trial into file, waiting up to wait_ms while it is not there
 * yet (the run that paused may still be uploading it when the promotion is handed out). */
hpo_rc wk_artifact_fetch(hpo_client *c, const char *study, int64_t number, const char *name,
                         const char *file, long wait_ms, hpo_error *err);

/* Uploads every regular file directly in dir as an artifact of the same name (subdirectories
 * are not walked: pack them into a file). The reserved names "log" and "checkpoint" are skipped.
 * Returns how many failed (each is logged). */
int wk_artifacts_upload_dir(hpo_client *c, const char *study, int64_t number, const char *dir);

#endif
