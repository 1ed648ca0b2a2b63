/* Lean viewers for bench/soak.py: many WebSocket viewers of one show in one process (epoll),
 * each saying hello, pinging now and then as a page does (the edge drops viewers silent for a
 * minute), and reading everything. Every frame is scanned once, byte by byte, by a small state
 * machine per connection, so an event split across reads is counted exactly once:
 *   {"seq":N,"type":"T"   a numbered event: N must follow the previous one (else a gap);
 *                         T chat_message and deal_started are counted;
 *   ,"seq":N              a snapshot's own seq (its last field): the count restarts from N;
 *   "text":"STOP"         the host's closing announcement: this viewer is done.
 * A connection the server closes after the handshake counts as dropped (it is not reopened).
 *
 * usage: soak_client HOST PORT PATH COUNT PING_S MAX_S
 * stdout, once every viewer saw STOP (or MAX_S passed): one JSON object
 *   {"connected":…,"dropped":…,"stopped":…,"gaps":…,"chat_min":…,"chat_max":…,
 *    "chat_total":…,"deals_min":…,"events":…,"bytes":…}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, HANDSHAKE, OPEN, DONE };
enum { SEARCH, DIGITS, TYPE_KEY, TYPE_NAME };

static const char SEQ_KEY[] = "\"seq\":";
static const char TYPE_KEY_TEXT[] = ",\"type\":\"";
static const char STOP_KEY[] = "\"text\":\"STOP\"";

typedef struct {
    int fd;
    int state;
    int attempts;
    int stopped;
    int dropped;
    int opened;
    int64_t next_ping_ns;
    /* the scanner */
    int phase;
    int seq_matched;  /* chars of SEQ_KEY matched */
    int stop_matched; /* chars of STOP_KEY matched */
    char before;      /* the byte before the current SEQ_KEY match */
    char prev;        /* the last byte seen */
    int opening;      /* the match began an event: {"seq": */
    int64_t number;
    int digits;
    int key_matched;
    char type[24];
    int type_len;
    int64_t last_seq; /* -1: no snapshot yet */
    int64_t chat;
    int64_t deals;
    int64_t gaps;
    int64_t events;
} conn_t;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A failed match restarts at the current byte when it is a quote: in both keys a quote is the
 * only prefix that is also a suffix of what was matched. */
static int advance(const char *key, int matched, char c) {
    if (key[matched] == c) return matched + 1;
    return c == key[0] ? 1 : 0;
}

static void event_seen(conn_t *c) {
    if (!c->opening) { /* a snapshot's seq: the count restarts here */
        c->last_seq = c->number;
        return;
    }
    c->events++;
    if (c->last_seq >= 0 && c->number != c->last_seq + 1) c->gaps++;
    c->last_seq = c->number;
    if (c->type_len == 12 && memcmp(c->type, "chat_message", 12) == 0) c->chat++;
    else if (c->type_len == 12 && memcmp(c->type, "deal_started", 12) == 0) c->deals++;
}

static void scan(conn_t *c, const char *data, ssize_t len) {
    for (ssize_t i = 0; i < len; i++) {
        char ch = data[i];
        c->stop_matched = advance(STOP_KEY, c->stop_matched, ch);
        if (c->stop_matched == (int)sizeof STOP_KEY - 1) { c->stopped = 1; c->stop_matched = 0; }
        switch (c->phase) {
        case SEARCH:
            c->seq_matched = advance(SEQ_KEY, c->seq_matched, ch);
            if (c->seq_matched == 1) c->before = c->prev;
            if (c->seq_matched == (int)sizeof SEQ_KEY - 1) {
                c->seq_matched = 0;
                c->phase = DIGITS;
                c->opening = c->before == '{';
                c->number = 0;
                c->digits = 0;
            }
            break;
        case DIGITS:
            if (ch >= '0' && ch <= '9' && c->digits < 18) {
                c->number = c->number * 10 + (ch - '0');
                c->digits++;
            } else if (c->digits == 0) {
                c->phase = SEARCH;
            } else if (!c->opening) {
                event_seen(c);
                c->phase = SEARCH;
            } else if (ch == TYPE_KEY_TEXT[0]) {
                c->phase = TYPE_KEY;
                c->key_matched = 1;
            } else {
                c->phase = SEARCH;
            }
            break;
        case TYPE_KEY:
            if (ch == TYPE_KEY_TEXT[c->key_matched]) {
                if (++c->key_matched == (int)sizeof TYPE_KEY_TEXT - 1) {
                    c->phase = TYPE_NAME;
                    c->type_len = 0;
                }
            } else {
                c->phase = SEARCH; /* not an event after all */
            }
            break;
        case TYPE_NAME:
            if (ch == '"') {
                event_seen(c);
                c->phase = SEARCH;
            } else if (c->type_len < (int)sizeof c->type) {
                c->type[c->type_len++] = ch;
            }
            break;
        }
        c->prev = ch;
    }
}

static const char *REQUEST_FMT =
    "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/* Client frames masked with a zero key: the bytes stay readable. */
static const char HELLO[] = "\x81\x90\0\0\0\0{\"type\":\"hello\"}";
static const char PING[] = "\x81\x8f\0\0\0\0{\"type\":\"ping\"}";

static int ep, count;
static conn_t *conns;
static struct sockaddr_in addr;
static void open_conn(int index) {
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

static void report(FILE *out, int64_t bytes) {
    int connected = 0, dropped = 0, stopped = 0;
    int64_t gaps = 0, chat_total = 0, events = 0;
    int64_t chat_min = -1, chat_max = 0, deals_min = -1;
    for (int i = 0; i < count; i++) {
        conn_t *c = &conns[i];
        connected += c->opened;
        dropped += c->dropped;
        stopped += c->stopped;
        gaps += c->gaps;
        events += c->events;
        chat_total += c->chat;
        if (chat_min < 0 || c->chat < chat_min) chat_min = c->chat;
        if (c->chat > chat_max) chat_max = c->chat;
        if (deals_min < 0 || c->deals < deals_min) deals_min = c->deals;
    }
    fprintf(out,
            "{\"connected\":%d,\"dropped\":%d,\"stopped\":%d,\"gaps\":%lld,\"chat_min\":%lld,"
            "\"chat_max\":%lld,\"chat_total\":%lld,\"deals_min\":%lld,\"events\":%lld,"
            "\"bytes\":%lld}\n",
            connected, dropped, stopped, (long long)gaps, (long long)(chat_min < 0 ? 0 : chat_min),
            (long long)chat_max, (long long)chat_total, (long long)(deals_min < 0 ? 0 : deals_min),
            (long long)events, (long long)bytes);
    fflush(out);
}

static void close_conn(conn_t *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT PATH COUNT PING_S MAX_S\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *path = argv[3];
    count = atoi(argv[4]);
    int64_t ping_ns = (int64_t)(atof(argv[5]) * 1e9);
    int64_t give_up_ns = now_ns() + (int64_t)(atof(argv[6]) * 1e9);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    signal(SIGPIPE, SIG_IGN);

    char request[1024];
    int request_len = snprintf(request, sizeof request, REQUEST_FMT, path, host, port);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(port));
    inet_pton(AF_INET, host, &addr.sin_addr);

    conns = calloc(count ? count : 1, sizeof(conn_t));
    for (int i = 0; i < count; i++) conns[i].last_seq = -1;
    ep = epoll_create1(0);
    int started = 0, in_flight = 0, finished = 0;
    int64_t bytes = 0, stop_deadline = 0;
    static char buf[65536];
    struct epoll_event events[512];

    for (;;) {
        while (started < count && in_flight < 256) {
            open_conn(started);
            started++;
            in_flight++;
        }
        int64_t now = now_ns();
        int stops = 0;
        for (int i = 0; i < count; i++) stops += conns[i].stopped;
        if (stops > 0 && stop_deadline == 0) stop_deadline = now + 10000000000LL;
        if ((finished + stops >= count && started == count) ||
            (stop_deadline && now > stop_deadline) || now > give_up_ns)
            break;
        /* Pings: each open viewer every PING_S, spread by its index. */
        for (int i = 0; i < count; i++) {
            conn_t *c = &conns[i];
            if (c->state == OPEN && !c->stopped && now >= c->next_ping_ns) {
                if (write(c->fd, PING, sizeof PING - 1) < 0 && errno != EAGAIN) { }
                c->next_ping_ns = now + ping_ns;
            }
        }
        int n = epoll_wait(ep, events, 512, 200);
        int64_t t = now_ns();
        for (int k = 0; k < n; k++) {
            int index = (int)events[k].data.u32;
            conn_t *c = &conns[index];
            if (c->state == CONNECTING && (events[k].events & EPOLLOUT)) {
                if (write(c->fd, request, request_len) != request_len) {
                    close_conn(c);
                    if (c->attempts < 20) { open_conn(index); continue; }
                    c->state = DONE; finished++; in_flight--; continue;
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
                        close_conn(c);
                        if (c->state != OPEN && c->attempts < 20) { open_conn(index); break; }
                        if (c->state != OPEN) in_flight--;
                        else if (!c->stopped) c->dropped = 1;
                        c->state = DONE; finished++;
                    }
                    break;
                }
                bytes += got;
                if (c->state == HANDSHAKE) {
                    char *end = memmem(buf, got, "\r\n\r\n", 4);
                    if (end == NULL) continue; /* a 101 response fits one read in practice */
                    if (write(c->fd, HELLO, sizeof HELLO - 1) != (ssize_t)(sizeof HELLO - 1)) { }
                    c->state = OPEN; c->opened = 1; in_flight--;
                    /* Spread the pings over the period: no wave of them every PING_S. */
                    c->next_ping_ns = t + ping_ns / 2 + (ping_ns / 2) * (index % 997) / 997;
                    ssize_t rest = got - (end + 4 - buf);
                    if (rest > 0) scan(c, end + 4, rest);
                } else if (c->state == OPEN) {
                    scan(c, buf, got);
                }
                if (got < (ssize_t)sizeof buf) break; /* level-triggered: epoll says if more */
            }
        }
    }
    report(stdout, bytes);
    return 0;
}
