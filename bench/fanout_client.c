/* Lean load client for bench/fanout.py: opens many WebSocket viewers in one process with
 * epoll, says hello, then only reads. Frames are not parsed: the bench's marked events carry
 * `"text":"E<index>T<publish monotonic ns>"`, which is searched for in the raw bytes (with a
 * small carry-over so a marker split across reads is still found). `"text":"STOP"` ends the run.
 *
 * Waiting for data: with POLL_US > 0 the client looks every POLL_US microseconds (epoll_wait
 * with no timeout, then a short sleep) instead of sleeping inside epoll_wait. On loopback a
 * send runs the receiver's side in the sender's context, and when the reader sleeps in
 * epoll_wait that includes waking it (a cross-CPU interrupt on a VM): a cost that viewers on
 * other machines never put on the server. Polling keeps it off the edge's writes; it adds
 * up to POLL_US to each measured delivery. POLL_US 0 sleeps in epoll_wait.
 *
 * usage: fanout_client HOST PORT PATH COUNT [POLL_US]
 * stdout: one JSON object {"connected":N,"events":[{"i":0,"n":…,"p50_us":…,"p99_us":…,"max_us":…}…]}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define CARRY 48

enum { CONNECTING, HANDSHAKE, OPEN, DONE };

typedef struct {
    int fd;
    int state;
    int attempts;
    int carry_len;
    int stopped;
    char carry[CARRY];
} conn_t;

static uint32_t *latency_us[MAX_EVENTS]; /* [event][connection], 0 = not received */
static int max_index = -1;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static const char *REQUEST_FMT =
    "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/* {"type":"hello"} masked with a zero key: the bytes stay readable. */
static const char HELLO[] = "\x81\x90\0\0\0\0{\"type\":\"hello\"}";

static void scan(conn_t *c, int index, const char *data, int len, int64_t t, int *stops) {
    /* Look at carry + data for markers. */
    static char window[CARRY + 65536];
    int total = c->carry_len + len;
    memcpy(window, c->carry, c->carry_len);
    memcpy(window + c->carry_len, data, len);
    const char *p = window, *end = window + total;
    static const char KEY[] = "\"text\":\"";
    while ((p = memmem(p, end - p, KEY, sizeof KEY - 1)) != NULL) {
        const char *v = p + sizeof KEY - 1;
        if (end - v < 4) break;
        if (v[0] == 'S' && memcmp(v, "STOP", 4) == 0) {
            if (!c->stopped) { c->stopped = 1; (*stops)++; }
        } else if (v[0] == 'E') {
            const char *q = v + 1;
            long ev = 0; int digits = 0;
            while (q < end && *q >= '0' && *q <= '9') { ev = ev * 10 + (*q - '0'); q++; digits++; }
            if (q >= end || *q != 'T' || digits == 0) break; /* incomplete: wait for more */
            q++;
            int64_t sent = 0; digits = 0;
            while (q < end && *q >= '0' && *q <= '9') { sent = sent * 10 + (*q - '0'); q++; digits++; }
            if (q >= end || digits == 0) break;
            if (ev >= 0 && ev < MAX_EVENTS && latency_us[ev][index] == 0) {
                int64_t us = (t - sent) / 1000;
                latency_us[ev][index] = us < 1 ? 1 : (uint32_t)us;
                if (ev > max_index) max_index = (int)ev;
            }
        }
        p = v;
    }
    int keep = total < CARRY ? total : CARRY;
    memcpy(c->carry, end - keep, keep);
    c->carry_len = keep;
}

static int ep;
static struct sockaddr_in addr;

/* Start (or restart) connection `index`: a refused or reset handshake is retried, since a
 * burst of thousands of connects can overflow the server's accept queue. */
static void open_conn(conn_t *conns, int index) {
    conn_t *c = &conns[index];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) { perror("socket"); exit(1); }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
    c->state = CONNECTING;
    c->attempts++;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u32 = (uint32_t)index};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT PATH COUNT [POLL_US]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *path = argv[3];
    int count = atoi(argv[4]);
    long poll_us = argc == 6 ? atol(argv[5]) : 0;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    for (int i = 0; i < MAX_EVENTS; i++) latency_us[i] = calloc(count, sizeof(uint32_t));

    char request[1024];
    int request_len = snprintf(request, sizeof request, REQUEST_FMT, path, host, port);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(port));
    inet_pton(AF_INET, host, &addr.sin_addr);

    conn_t *conns = calloc(count, sizeof(conn_t));
    ep = epoll_create1(0);
    int started = 0, open_count = 0, in_flight = 0, stops = 0, closed = 0;
    static char buf[65536];
    struct epoll_event events[512];
    int64_t stop_deadline = 0;

    for (;;) {
        while (started < count && in_flight < 256) {
            open_conn(conns, started);
            started++; in_flight++;
        }
        if (stops > 0 && stop_deadline == 0) stop_deadline = now_ns() + 5000000000LL;
        if ((stops + closed >= count && started == count) ||
            (stop_deadline && now_ns() > stop_deadline))
            break;
        int n = epoll_wait(ep, events, 512, poll_us ? 0 : 200);
        if (n == 0 && poll_us) {
            struct timespec pause = {poll_us / 1000000, (poll_us % 1000000) * 1000};
            nanosleep(&pause, NULL);
            continue;
        }
        int64_t t = now_ns();
        for (int k = 0; k < n; k++) {
            int index = (int)events[k].data.u32;
            conn_t *c = &conns[index];
            if (c->state == CONNECTING && (events[k].events & EPOLLOUT)) {
                if (write(c->fd, request, request_len) != request_len) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    if (c->attempts < 20) { open_conn(conns, index); continue; }
                    c->state = DONE; closed++; in_flight--; continue;
                }
                c->state = HANDSHAKE;
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            if (!(events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                ssize_t got = read(c->fd, buf, sizeof buf);
                if (got <= 0) {
                    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                    if (c->state != DONE) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                        close(c->fd);
                        if (c->state != OPEN && c->attempts < 20) { open_conn(conns, index); break; }
                        if (c->state != OPEN) in_flight--;
                        c->state = DONE; closed++;
                    }
                    break;
                }
                if (c->state == HANDSHAKE) {
                    char *end = memmem(buf, got, "\r\n\r\n", 4);
                    if (end == NULL) continue; /* a 101 response fits one read in practice */
                    if (write(c->fd, HELLO, sizeof HELLO - 1) != (ssize_t)(sizeof HELLO - 1)) { }
                    c->state = OPEN; open_count++; in_flight--;
                    int rest = (int)(got - (end + 4 - buf));
                    if (rest > 0) scan(c, index, end + 4, rest, t, &stops);
                } else if (c->state == OPEN) {
                    int offset = 0;
                    while (offset < got) {
                        int chunk = got - offset > 60000 ? 60000 : (int)(got - offset);
                        scan(c, index, buf + offset, chunk, t, &stops);
                        offset += chunk;
                    }
                }
                /* A short read took everything there was: epoll (level-triggered) reports the
                 * socket again if more arrives, so skip the read that would only say EAGAIN.
                 * Half the syscalls, and the client shares the server's cores. */
                if (got < (ssize_t)sizeof buf) break;
            }
        }
    }

    printf("{\"connected\":%d,\"events\":[", open_count);
    uint32_t *sorted = malloc(sizeof(uint32_t) * (count ? count : 1));
    for (int e = 0; e <= max_index; e++) {
        int m = 0;
        for (int i = 0; i < count; i++) if (latency_us[e][i]) sorted[m++] = latency_us[e][i];
        qsort(sorted, m, sizeof(uint32_t), cmp_u32);
        uint32_t p50 = m ? sorted[m / 2] : 0, p99 = m ? sorted[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1] : 0;
        uint32_t mx = m ? sorted[m - 1] : 0;
        printf("%s{\"i\":%d,\"n\":%d,\"p50_us\":%u,\"p99_us\":%u,\"max_us\":%u}", e ? "," : "", e, m, p50, p99, mx);
    }
    printf("]}\n");
    return 0;
}
