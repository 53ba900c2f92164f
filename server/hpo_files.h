/* hpo_files: the few filesystem operations the artifact store needs. */
#ifndef HPO_FILES_H
#define HPO_FILES_H

/* mkdir -p with mode 0755; 0 or -1 with errno. */
int hpo_files_mkdirs(const char *path);
/* rm -rf; a missing path is fine. 0 or -1 with errno. */
int hpo_files_remove_tree(const char *path);

#endif
