/* wk_proc: process groups, pipes and line reading for the commands hpo-worker runs. */
#include "wk_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Held while a pipe is made close-on-exec and while a child is spawned. */
static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -errno;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int wk_pipe(int fds[2])
{
    pthread_mutex_lock(&spawn_lock);
    int rc = pipe(fds) == 0 ? 0 : -errno;
    if (rc == 0 && ((rc = set_flags(fds[0])) < 0 || (rc = set_flags(fds[1])) < 0)) {
        close(fds[0]);
        close(fds[1]);
    }
    pthread_mutex_unlock(&spawn_lock);
    return rc;
}

/* Attributes shared by both kinds of child: default signals, empty mask. */
static int child_attrs(posix_spawnattr_t *a, bool new_group)
{
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGCHLD);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_group)
        flags |= POSIX_SPAWN_SETPGROUP;
    int rc = posix_spawnattr_init(a);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(a, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(a, &defaults);
    if (rc == 0 && new_group)
        rc = posix_spawnattr_setpgroup(a, 0);
    if (rc == 0)
        rc = posix_spawnattr_setflags(a, flags);
    return rc;
}

int wk_proc_spawn(char *const argv[], char *const envp[], pid_t *ret_pid, int *ret_fd)
{
    int fds[2];
    int rc = wk_pipe(fds);
    if (rc < 0)
        return rc;
    /* the command's end blocks: a command that writes faster than we read must wait, not get
     * EAGAIN (which stdio and Python drop silently, losing reports) */
    int fl = fcntl(fds[1], F_GETFL);
    if (fl < 0 || fcntl(fds[1], F_SETFL, fl & ~O_NONBLOCK) < 0) {
        rc = -errno;
        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
    if (rc == 0)
        rc = child_attrs(&attr, true);
    pid_t pid = -1;
    if (rc == 0) {
        pthread_mutex_lock(&spawn_lock);
        rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
        pthread_mutex_unlock(&spawn_lock);
        posix_spawnattr_destroy(&attr);
    }
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -rc;
    }
    /* The command's output must not block on a full pipe: the reader is non-blocking. */
    *ret_pid = pid;
    *ret_fd = fds[0];
    return 0;
}

/* ---- exit watches ---- */

/* The SIGCHLD fallback: the wake fds of the runners watching a child, + 1 (0 = free). The table
 * bounds how many runners can use it at once; those beyond it fall back to looking. A handler
 * running on another thread as a runner leaves the table may still write its byte after the
 * runner has moved on; the runner's wake pipe stays open until the runner is joined, so that
 * byte lands in a pipe nobody reads any more, never in a reused descriptor unless the handler
 * is delayed past the join (only on kernels without pidfds). */
#define WK_SIGCHLD_SLOTS 256
static atomic_int sigchld_fds[WK_SIGCHLD_SLOTS];
static pthread_once_t sigchld_once = PTHREAD_ONCE_INIT;
static int sigchld_installed; /* 0 or -errno, written once under sigchld_once */

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno;
    char b = 1;
    for (size_t i = 0; i < WK_SIGCHLD_SLOTS; i++) {
        int fd = atomic_load(&sigchld_fds[i]) - 1;
        if (fd >= 0) {
            ssize_t w = write(fd, &b, 1); /* non-blocking; a full pipe wakes its reader already */
            (void)w;
        }
    }
    errno = saved;
}

static void install_sigchld(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigchld_installed = sigaction(SIGCHLD, &sa, NULL) == 0 ? 0 : -errno;
}

int wk_exit_watch_start(wk_exit_watch *w, pid_t pid, int wake_fd)
{
    w->slot = -1;
#ifdef SYS_pidfd_open
    w->fd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec from the start */
    if (w->fd >= 0)
        return 0;
#else
    (void)pid;
    w->fd = -1;
#endif
    /* ENOSYS (kernel < 5.3), EPERM (a seccomp filter): fall back to SIGCHLD */
    pthread_once(&sigchld_once, install_sigchld);
    if (sigchld_installed < 0)
        return sigchld_installed;
    for (int i = 0; i < WK_SIGCHLD_SLOTS; i++) {
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&sigchld_fds[i], &free_slot, wake_fd + 1)) {
            w->slot = i;
            return 0;
        }
    }
    return -EBUSY;
}

void wk_exit_watch_stop(wk_exit_watch *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->slot >= 0)
        atomic_store(&sigchld_fds[w->slot], 0);
    w->fd = -1;
    w->slot = -1;
}

int wk_proc_run(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    if (rc == 0)
        rc = child_attrs(&attr, false);
    pid_t pid = -1;
    if (rc == 0) {
        pthread_mutex_lock(&spawn_lock);
        rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        pthread_mutex_unlock(&spawn_lock);
        posix_spawnattr_destroy(&attr);
    }
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -rc;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return status;
}

void wk_proc_describe(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit code %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "wait status %d", status);
}

int wk_linebuf_init(wk_linebuf *lb, size_t max)
{
    lb->len = 0;
    lb->max = max;
    lb->data = malloc(max + 1);
    return lb->data ? 0 : -ENOMEM;
}

void wk_linebuf_free(wk_linebuf *lb)
{
    free(lb->data);
    lb->data = NULL;
}

/* Hands over every complete line in the buffer, and a full buffer as one piece. */
static void deliver(wk_linebuf *lb, wk_line_fn fn, void *ud, bool all)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(lb->data + start, '\n', lb->len - start);
        size_t end;
        if (nl)
            end = (size_t)(nl - lb->data);
        else if (lb->len - start >= lb->max || (all && lb->len > start))
            end = lb->len;
        else
            break;
        char saved = lb->data[end];
        lb->data[end] = '\0';
        fn(ud, lb->data + start, end - start);
        lb->data[end] = saved;
        start = nl ? end + 1 : end;
    }
    memmove(lb->data, lb->data + start, lb->len - start);
    lb->len -= start;
}

int wk_linebuf_read(wk_linebuf *lb, int fd, size_t budget, wk_line_fn fn, void *ud)
{
    size_t got = 0;
    while (got < budget) {
        ssize_t n = read(fd, lb->data + lb->len, lb->max - lb->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -errno;
        }
        if (n == 0) {
            deliver(lb, fn, ud, true);
            return 1;
        }
        lb->len += (size_t)n;
        got += (size_t)n;
        deliver(lb, fn, ud, false);
    }
    return 0;
}
