/* fake_http: the scripted loopback HTTP server of the client unit tests (one request per
 * connection, every answer closes it). */
#include "fake_http.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads one request (head and Content-Length body) into a new string; NULL on EOF. */
static char *read_request(int fd, size_t *ret_body_len)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    buf[0] = '\0'; /* searched for the end of the head before the first read */
    char *end = NULL;
    long body = 0;
    bool continued = false;
    for (;;) {
        if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            end += 4;
            for (char *h = buf; h < end; h = strstr(h, "\r\n") + 2) {
                if (strncasecmp(h, "Content-Length:", 15) == 0)
                    body = strtol(h + 15, NULL, 10);
                if (strncasecmp(h, "Expect:", 7) == 0 && !continued) {
                    const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
                    ck_assert_int_eq(write(fd, cont, strlen(cont)), (ssize_t)strlen(cont));
                    continued = true;
                }
            }
        }
        if (end && len >= (size_t)(end - buf) + (size_t)body)
            break;
        if (len == cap) {
            size_t off = end ? (size_t)(end - buf) : 0;
            buf = realloc(buf, (cap *= 2) + 1);
            ck_assert_ptr_nonnull(buf);
            if (end)
                end = buf + off;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0) {
            free(buf);
            return NULL;
        }
        len += (size_t)n;
        buf[len] = '\0';
    }
    *ret_body_len = (size_t)body;
    return buf;
}

static void *fake_run(void *p)
{
    fake *f = p;
    while (f->served < f->n) {
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        /* one request per connection: every answer says Connection: close */
        size_t blen = 0;
        char *req = read_request(fd, &blen);
        if (req) {
            int i = f->served++;
            f->requests[i] = req;
            f->body_len[i] = blen;
            if (f->script[i]) {
                size_t len = strlen(f->script[i]);
                ck_assert_int_eq(write(fd, f->script[i], len), (ssize_t)len);
            }
        }
        close(fd);
    }
    return NULL;
}

void fake_start(fake *f)
{
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(f->listen_fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(f->listen_fd, 8), 0);
    socklen_t al = sizeof a;
    ck_assert_int_eq(getsockname(f->listen_fd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, fake_run, f);
}

void fake_stop(fake *f)
{
    shutdown(f->listen_fd, SHUT_RDWR);
    pthread_join(f->th, NULL);
    close(f->listen_fd);
    for (int i = 0; i < f->served; i++)
        free(f->requests[i]);
}

const char *body_of(const fake *f, int i)
{
    return strstr(f->requests[i], "\r\n\r\n") + 4;
}
