/* Minimal RTP echo for the load benchmarks: every datagram received on 127.0.0.1:PORT is sent
 * back to its source. recvmmsg/sendmmsg in batches of 64 and a 4 MB receive buffer, so the echo
 * is not the bottleneck that sipp's single -rtp_echo socket is (it overflows near 300 calls).
 * Prints the datagram count on SIGTERM/SIGINT, and exits by itself after LIFETIME seconds.
 * build: cc -O2 -o rtp_echo rtp_echo.c      usage: rtp_echo PORT LIFETIME_SECS */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: rtp_echo PORT LIFETIME_SECS\n"); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int rb = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rb, sizeof rb);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    struct timeval tv = { .tv_sec = 1 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    signal(SIGTERM, on_sig); signal(SIGINT, on_sig);
    time_t end = time(NULL) + atol(argv[2]);
    static char bufs[BATCH][2048];
    struct sockaddr_in from[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msg[BATCH];
    unsigned long long total = 0;
    while (!stop && time(NULL) < end) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
            memset(&msg[i], 0, sizeof msg[i]);
            msg[i].msg_hdr.msg_iov = &iov[i]; msg[i].msg_hdr.msg_iovlen = 1;
            msg[i].msg_hdr.msg_name = &from[i]; msg[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) continue;
        for (int i = 0; i < n; i++) iov[i].iov_len = msg[i].msg_len;
        int off = 0;
        while (off < n) {
            int s = sendmmsg(fd, msg + off, n - off, 0);
            if (s <= 0) break;
            off += s;
        }
        total += n;
    }
    printf("echoed %llu\n", total);
    return 0;
}
