/* test_limits: the real hpo-server against what a client can make it hold over raw sockets:
 * oversized bodies cut off (not drained), connections per address and in all, slow clients,
 * oversized headers, and a service limit set by flag over its environment variable. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "e2e_server.h"

#define MiB (1024 * 1024)
#define HUGE_BODY (50 * MiB)
/* What the kernel may buffer between client and server (socket buffers on loopback are a few
 * MiB each way): a server that drains the body reads all HUGE_BODY bytes; one that cuts it off
 * lets at most this much through. */
#define CUT_OFF_BELOW (25 * MiB)

static e2e_server srv;

static void setup(void)
{
    memset(&srv, 0, sizeof srv);
}

static void teardown(void)
{
    e2e_destroy(&srv);
}

static void start(const char *const *extra_args)
{
    srv.extra_args = extra_args;
    e2e_start(&srv);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_srv(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    /* a server that neither reads nor closes must not hang the test */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_text(int fd, const char *text)
{
    size_t len = strlen(text);
    ck_assert_int_eq(send(fd, text, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads what arrives for up to ms, stopping early when the peer closes (EOF or reset) or, with
 * whole, once a complete response (headers and Content-Length bytes) is in buf. Returns the
 * bytes read; *ret_closed tells whether the peer closed. */
static size_t read_answer(int fd, char *buf, size_t cap, int ms, bool whole, bool *ret_closed)
{
    size_t len = 0;
    *ret_closed = false;
    double until = now_s() + ms / 1000.0;
    buf[0] = '\0';
    while (len + 1 < cap) {
        int left = (int)((until - now_s()) * 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0) {
            *ret_closed = true;
            break;
        }
        len += (size_t)n;
        buf[len] = '\0';
        const char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        if (whole && end && cl && cl < end && strlen(end + 4) >= strtoul(cl + 16, NULL, 10))
            break;
    }
    return len;
}

static int status_of(const char *answer)
{
    int status = 0;
    return sscanf(answer, "HTTP/1.1 %d", &status) == 1 ? status : 0;
}

/* Sends up to `total` bytes of body (chunked or not) until the server stops taking them;
 * returns how many it took. */
static size_t send_body(int fd, size_t total, bool chunked)
{
    static char block[64 * 1024];
    memset(block, ' ', sizeof block);
    size_t sent = 0;
    while (sent < total) {
        if (chunked) {
            char head[16];
            snprintf(head, sizeof head, "%zx\r\n", sizeof block);
            if (send(fd, head, strlen(head), MSG_NOSIGNAL) <= 0)
                break;
        }
        ssize_t n = send(fd, block, sizeof block, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
        if (chunked && send(fd, "\r\n", 2, MSG_NOSIGNAL) <= 0)
            break;
    }
    return sent;
}

static void request_head(char *buf, size_t cap, const char *method, const char *path,
                         const char *framing)
{
    snprintf(buf, cap,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\n%s\r\n\r\n",
             method, path, srv.token, framing);
}

START_TEST(body_over_content_length_refused_at_headers)
{
    start(NULL);
    int fd = connect_srv();
    char head[512], framing[64], answer[4096];
    snprintf(framing, sizeof framing, "Content-Length: %d", HUGE_BODY);
    request_head(head, sizeof head, "POST", "/api/v1/studies", framing);
    send_text(fd, head);
    /* answered before a byte of the body, and closed */
    bool closed;
    read_answer(fd, answer, sizeof answer, 5000, false, &closed);
    ck_assert_msg(status_of(answer) == 413, "answer: %s", answer);
    ck_assert_ptr_nonnull(strstr(answer, "\"too_large\""));
    ck_assert_ptr_nonnull(strstr(answer, "--max-body-bytes"));
    ck_assert_msg(closed, "the connection stayed open after the 413");
    size_t sent = send_body(fd, HUGE_BODY, false);
    ck_assert_msg(sent < CUT_OFF_BELOW, "the server took %zu bytes of a refused body", sent);
    close(fd);
}
END_TEST

START_TEST(chunked_body_over_limit_cut_off)
{
    start(NULL);
    int fd = connect_srv();
    char head[512], answer[4096];
    request_head(head, sizeof head, "POST", "/api/v1/studies", "Transfer-Encoding: chunked");
    send_text(fd, head);
    double t0 = now_s();
    size_t sent = send_body(fd, HUGE_BODY, true);
    ck_assert_msg(sent < CUT_OFF_BELOW, "the server read %zu bytes of a chunked body over "
                  "1 MiB (drained, not cut off)", sent);
    bool closed;
    size_t got = read_answer(fd, answer, sizeof answer, 5000, false, &closed);
    ck_assert_msg(closed, "the connection stayed open");
    ck_assert_msg(now_s() - t0 < 8, "the refusal took %.1f s", now_s() - t0);
    /* the 413 is written best effort (the reset of the cut-off connection may overtake it) */
    if (got > 0) {
        ck_assert_msg(status_of(answer) == 413, "answer: %s", answer);
        ck_assert_ptr_nonnull(strstr(answer, "--max-body-bytes"));
    }
    close(fd);
    /* the server is still fine */
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "GET", "/healthz", NULL, &j), 200);
    json_decref(j);
}
END_TEST

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(chunked_artifact_over_limit_cut_off)
{
    srv.artifact_max_bytes = "1048576";
    start(NULL);
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"art\",\"direction\":\"minimize\"}", &j), 201);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/art/trials", "{}", &j), 201);
    json_decref(j);
    int fd = connect_srv();
    char head[512], answer[4096];
    request_head(head, sizeof head, "PUT", "/api/v1/studies/art/trials/0/artifacts/model",
                 "Transfer-Encoding: chunked");
    send_text(fd, head);
    size_t sent = send_body(fd, HUGE_BODY, true);
    ck_assert_msg(sent < CUT_OFF_BELOW, "the server read %zu bytes of a chunked artifact over "
                  "its 1 MiB limit", sent);
    bool closed;
    size_t got = read_answer(fd, answer, sizeof answer, 5000, false, &closed);
    ck_assert(closed);
    if (got > 0)
        ck_assert_ptr_nonnull(strstr(answer, "--artifact-max-bytes"));
    close(fd);
    /* the partial upload is removed */
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s/tmp", srv.artifact_dir);
    for (int i = 0; i < 50 && files_in(tmp) > 0; i++)
        usleep(100 * 1000);
    ck_assert_int_eq(files_in(tmp), 0);
    ck_assert_int_eq(e2e_call(&srv, "GET", "/api/v1/studies/art/trials/0/artifacts", NULL, &j),
                     200);
    ck_assert_int_eq(json_array_size(json_object_get(j, "artifacts")), 0);
    json_decref(j);
}
END_TEST

/* Sends GET /healthz on fd (keep-alive) and returns the status, 0 when closed without one. */
static int healthz(int fd, int ms)
{
    char answer[2048];
    bool closed;
    if (send(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 42, MSG_NOSIGNAL) != 42)
        return 0;
    read_answer(fd, answer, sizeof answer, ms, true, &closed);
    return status_of(answer);
}

START_TEST(connections_per_address)
{
    static const char *const args[] = {"--max-connections-per-ip", "3", NULL};
    start(args);
    int fd[3];
    for (int i = 0; i < 3; i++) {
        fd[i] = connect_srv();
        ck_assert_int_eq(healthz(fd[i], 5000), 200);
    }
    /* the fourth from this address is closed without an answer */
    int extra = connect_srv();
    char answer[256];
    bool closed;
    send_text(extra, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    read_answer(extra, answer, sizeof answer, 5000, true, &closed);
    ck_assert_msg(closed && status_of(answer) == 0, "a 4th connection was served: %s", answer);
    close(extra);
    /* a place freed is taken again */
    close(fd[0]);
    int status = 0;
    for (int i = 0; i < 50 && status != 200; i++) {
        usleep(100 * 1000);
        int again = connect_srv();
        status = healthz(again, 2000);
        close(again);
    }
    ck_assert_int_eq(status, 200);
    ck_assert_int_eq(healthz(fd[1], 5000), 200);
    close(fd[1]);
    close(fd[2]);
}
END_TEST

START_TEST(connections_in_all)
{
    static const char *const args[] = {"--max-connections", "8", NULL}; /* one per thread */
    start(args);
    int fd[8];
    for (int i = 0; i < 8; i++) {
        fd[i] = connect_srv();
        ck_assert_int_eq(healthz(fd[i], 5000), 200);
    }
    /* the ninth waits, unserved, until a place is free */
    int extra = connect_srv();
    char answer[256];
    bool closed;
    send_text(extra, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    read_answer(extra, answer, sizeof answer, 1500, true, &closed);
    ck_assert_msg(status_of(answer) == 0, "a 9th connection was served: %s", answer);
    for (int i = 0; i < 8; i++)
        close(fd[i]);
    read_answer(extra, answer, sizeof answer, 5000, true, &closed);
    ck_assert_msg(status_of(answer) == 200, "answer: %s", answer);
    close(extra);
}
END_TEST

START_TEST(slow_client_timed_out)
{
    static const char *const args[] = {"--idle-timeout", "1", NULL};
    start(args);
    /* a request that never ends its headers (slow loris) */
    int fd = connect_srv();
    send_text(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    double t0 = now_s();
    char answer[256];
    bool closed;
    read_answer(fd, answer, sizeof answer, 10000, false, &closed);
    ck_assert_msg(closed, "a silent connection was kept 10 s");
    ck_assert_msg(now_s() - t0 < 5, "closed after %.1f s", now_s() - t0);
    close(fd);
    /* an idle keep-alive connection too, after its answer */
    fd = connect_srv();
    ck_assert_int_eq(healthz(fd, 5000), 200);
    read_answer(fd, answer, sizeof answer, 10000, false, &closed);
    ck_assert(closed);
    close(fd);
}
END_TEST

/* A client that drips its headers a byte at a time is never idle, yet closed at the deadline of
 * --header-timeout; a keep-alive connection that answers in time is served again and again. */
START_TEST(dripping_headers_cut_at_deadline)
{
    static const char *const args[] = {"--idle-timeout", "30", "--header-timeout", "2", NULL};
    start(args);
    int fd = connect_srv();
    const char *head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
    double t0 = now_s();
    bool closed = false;
    for (size_t i = 0; head[i] && !closed; i++) {
        if (send(fd, head + i, 1, MSG_NOSIGNAL) != 1)
            closed = true;
        char b[64];
        bool c2 = false;
        read_answer(fd, b, sizeof b, 300, false, &c2);
        closed = closed || c2;
    }
    ck_assert_msg(closed, "a dripping client was kept %.1f s", now_s() - t0);
    ck_assert_msg(now_s() - t0 < 5, "cut after %.1f s", now_s() - t0);
    close(fd);
    /* a kept-alive connection making a request a second: every one is served */
    fd = connect_srv();
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(healthz(fd, 5000), 200);
        usleep(1000 * 1000);
    }
    close(fd);
}
END_TEST

START_TEST(headers_over_limit)
{
    static const char *const args[] = {"--max-header-bytes", "8K", NULL};
    start(args);
    static char req[32 * 1024], pad[16 * 1024];
    memset(pad, 'a', 12 * 1024);
    pad[12 * 1024] = '\0';
    snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: %s\r\n\r\n",
             pad);
    int fd = connect_srv();
    send_text(fd, req);
    char answer[2048];
    bool closed;
    read_answer(fd, answer, sizeof answer, 5000, false, &closed);
    ck_assert_msg(status_of(answer) == 431, "answer: %s", answer);
    ck_assert(closed);
    close(fd);
    /* headers within the limit are served */
    pad[2 * 1024] = '\0';
    snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: %s\r\n\r\n",
             pad);
    fd = connect_srv();
    send_text(fd, req);
    read_answer(fd, answer, sizeof answer, 5000, true, &closed);
    ck_assert_msg(status_of(answer) == 200, "answer: %s", answer);
    close(fd);
}
END_TEST

START_TEST(service_limit_flag_beats_environment)
{
    static const char *const args[] = {"--max-studies", "1", NULL};
    setenv("HPO_MAX_STUDIES", "5", 1);
    setenv("HPO_MAX_REPORTS_PER_TRIAL", "2", 1);
    start(args);
    unsetenv("HPO_MAX_STUDIES");
    unsetenv("HPO_MAX_REPORTS_PER_TRIAL");
    json_t *j;
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"a\",\"direction\":\"minimize\"}", &j), 201);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies",
                              "{\"name\":\"b\",\"direction\":\"minimize\"}", &j), 409);
    e2e_expect_error(j, "limit_exceeded");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(j, "error"),
                                                                   "message")),
                                 "--max-studies"));
    json_decref(j);
    /* the environment sets what no flag does */
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/a/trials", "{}", &j), 201);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/a/trials/0/reports",
                              "{\"reports\":[{\"step\":0,\"value\":1},{\"step\":1,\"value\":1}]}",
                              &j), 200);
    json_decref(j);
    ck_assert_int_eq(e2e_call(&srv, "POST", "/api/v1/studies/a/trials/0/reports",
                              "{\"step\":2,\"value\":1}", &j), 409);
    e2e_expect_error(j, "limit_exceeded");
    json_decref(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("e2e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, body_over_content_length_refused_at_headers);
    tcase_add_test(tc, chunked_body_over_limit_cut_off);
    tcase_add_test(tc, chunked_artifact_over_limit_cut_off);
    tcase_add_test(tc, connections_per_address);
    tcase_add_test(tc, connections_in_all);
    tcase_add_test(tc, slow_client_timed_out);
    tcase_add_test(tc, dripping_headers_cut_at_deadline);
    tcase_add_test(tc, headers_over_limit);
    tcase_add_test(tc, service_limit_flag_beats_environment);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
