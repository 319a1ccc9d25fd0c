/* Opens N Server-Sent Events streams to one HTTP server and counts the events each receives.
 *
 *   sse_client HOST PORT PATH N SECONDS [HEADER]
 *
 * HEADER is one extra request header line (e.g. "Cookie: bl_session=...").
 * Prints, once a second, how many streams are open (status 200 seen) and the events received
 * (lines starting "event: " other than stream.open), then a final summary line:
 *   open=<streams with 200> events=<total> min=<fewest per stream> max=<most per stream>
 * One thread, epoll, non-blocking sockets: the client itself costs a few MB for 2,000 streams.
 * Build: cc -O2 -o sse_client sse_client.c */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int sent;
    int ok;           /* saw "200" in the status line */
    long events;
    char line[256];   /* start of the current line (enough to recognise "event: ") */
    int len;
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void feed(struct conn *c, const char *buf, ssize_t n) {
    for (ssize_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (ch == '\n') {
            c->line[c->len < 255 ? c->len : 255] = 0;
            if (!c->ok && strncmp(c->line, "HTTP/1.1 200", 12) == 0) c->ok = 1;
            if (strncmp(c->line, "event: ", 7) == 0 && strcmp(c->line + 7, "stream.open") != 0)
                c->events++;
            c->len = 0;
        } else if (c->len < 255) {
            c->line[c->len++] = ch;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT PATH N SECONDS [HEADER]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *path = argv[3];
    int port = atoi(argv[2]), n = atoi(argv[4]);
    double secs = atof(argv[5]);
    const char *extra = argc > 6 ? argv[6] : "";
    struct rlimit rl = {n + 64, n + 64};
    setrlimit(RLIMIT_NOFILE, &rl);
    char req[1024];
    int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n%s%s\r\n",
                          path, host, extra, *extra ? "\r\n" : "");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int ep = epoll_create1(0);
    struct conn *cs = calloc(n, sizeof *cs);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) { perror("socket"); return 1; }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
            perror("connect");
            return 1;
        }
        cs[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    double start = now(), last = start;
    struct epoll_event evs[256];
    char buf[65536];
    while (now() - start < secs) {
        int k = epoll_wait(ep, evs, 256, 200);
        for (int j = 0; j < k; j++) {
            struct conn *c = &cs[evs[j].data.u32];
            if ((evs[j].events & EPOLLOUT) && !c->sent) {
                if (write(c->fd, req, reqlen) == reqlen) {
                    c->sent = 1;
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[j].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = read(c->fd, buf, sizeof buf);
                if (r > 0) feed(c, buf, r);
                else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                }
            }
        }
        if (now() - last >= 1.0) {
            last = now();
            long open = 0, total = 0;
            for (int i = 0; i < n; i++) { open += cs[i].ok; total += cs[i].events; }
            printf("t=%.0f open=%ld events=%ld\n", last - start, open, total);
            fflush(stdout);
        }
    }
    long open = 0, total = 0, mn = -1, mx = 0;
    for (int i = 0; i < n; i++) {
        open += cs[i].ok;
        total += cs[i].events;
        if (mn < 0 || cs[i].events < mn) mn = cs[i].events;
        if (cs[i].events > mx) mx = cs[i].events;
    }
    printf("open=%ld events=%ld min=%ld max=%ld\n", open, total, mn, mx);
    return 0;
}
