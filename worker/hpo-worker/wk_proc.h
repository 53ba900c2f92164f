/* wk_proc: starting a training command in a process group of its own with its output on a pipe,
 * reading that output line by line, signalling the group, and running helpers (tar) to the end. */
#ifndef WK_PROC_H
#define WK_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* A pipe whose ends are close-on-exec and non-blocking, made under the lock every spawn takes,
 * so no command another thread starts inherits it (which would keep it from ever seeing EOF).
 * Returns 0 or -errno. */
int wk_pipe(int fds[2]);

/* Starts argv (argv[0] looked up in PATH) with the environment envp, in a new process group
 * (pgid = pid), stdin from /dev/null, stdout and stderr into one pipe whose read end (close-on-
 * exec, non-blocking) goes to *ret_fd. Signal mask and dispositions are reset for the child.
 * Returns 0 or -errno (e.g. -ENOENT when the command does not exist). */
int wk_proc_spawn(char *const argv[], char *const envp[], pid_t *ret_pid, int *ret_fd);

/* Wakes a poll() the moment a spawned child exits. fd is the child's pidfd (pidfd_open, Linux
 * >= 5.3), readable once it has exited; where the kernel (or a seccomp filter) refuses pidfds, fd
 * is -1 and a SIGCHLD handler writes a byte to wake_fd on every child's exit instead (the caller
 * then checks its own child with waitid). Either way the caller must check the child once after
 * starting the watch: an exit before it may have gone unseen. */
typedef struct {
    int fd;   /* to poll for POLLIN, or -1 */
    int slot; /* in the SIGCHLD table, or -1 */
} wk_exit_watch;

/* Returns 0, or -errno when neither way is available (the caller then has to look from time to
 * time). wake_fd must be non-blocking and stay open until wk_exit_watch_stop. */
int wk_exit_watch_start(wk_exit_watch *w, pid_t pid, int wake_fd);
/* Closes the pidfd or leaves the SIGCHLD table. Safe on a watch whose start failed. */
void wk_exit_watch_stop(wk_exit_watch *w);

/* Runs argv to its end with stdin from /dev/null and its output to stderr (for tar).
 * Returns its wait status, or -errno when it could not start. */
int wk_proc_run(char *const argv[]);

/* "exit code 3", "killed by signal 9 (Killed)". */
void wk_proc_describe(int status, char *buf, size_t size);

/* Accumulates a pipe's bytes and cuts them into lines; a line longer than max is delivered in
 * pieces of max bytes. */
typedef struct {
    char *data;
    size_t len, max;
} wk_linebuf;

typedef void (*wk_line_fn)(void *ud, char *line, size_t len); /* line NUL-terminated, no '\n' */

int wk_linebuf_init(wk_linebuf *lb, size_t max); /* 0 or -ENOMEM */
void wk_linebuf_free(wk_linebuf *lb);
/* Reads what fd has now and hands each complete line to fn. Returns 0 when fd has nothing more
 * for now (EAGAIN), 1 at end of file (after handing over an unterminated last line), -errno on
 * error. At most `budget` bytes are read per call, so one chatty command cannot starve the rest. */
int wk_linebuf_read(wk_linebuf *lb, int fd, size_t budget, wk_line_fn fn, void *ud);

#endif
