/* worker_stamp: the trivial hpo-worker command of worker_bench.sh: appends "<trial> <CLOCK_REALTIME s>" to a file, then reports value=1. */
/*
 * usage: worker_stamp FILE
 *
 * The clock is read first thing in main (no libraries beyond libc, so the dynamic loader adds as
 * little as possible), then one line "HPO_TRIAL_NUMBER seconds.nanoseconds" is appended to FILE
 * with a single write (O_APPEND, so commands of parallel slots do not interleave), and
 * "hpo: value=1" is printed: the worker finishes the trial complete.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (argc != 2) {
        fprintf(stderr, "usage: worker_stamp FILE\n");
        return 2;
    }
    const char *n = getenv("HPO_TRIAL_NUMBER");
    char line[128];
    int len = snprintf(line, sizeof line, "%s %lld.%09ld\n", n ? n : "-1", (long long)ts.tv_sec,
                       ts.tv_nsec);
    int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0 || write(fd, line, (size_t)len) != len) {
        perror("worker_stamp");
        return 1;
    }
    close(fd);
    printf("hpo: value=1\n");
    return 0;
}
