/* RTP source for the relay benchmark: every 20 ms sends one 172-byte PCMA packet to each of N
 * relay ports (BASE, BASE+STRIDE, ...) from one socket on 127.0.0.1:LOCAL, with sendmmsg in
 * batches, and counts what comes back (the relay forwards the far end's echo to this socket).
 * No raw sockets (SIPp's pcap replay uses them, and every packet on the box is then copied to
 * them), so the generator's cost per packet is one UDP send and one UDP receive.
 * build: cc -O2 -o rtp_blast rtp_blast.c
 * usage: rtp_blast LOCAL_PORT BASE_PORT N STRIDE SECONDS
 * prints: sent=S received=R lost_pct=P late_ticks=T */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 256
#define LEN 172

static void drain(int fd, unsigned long long *received) {
    static char bufs[BATCH][2048];
    struct iovec iov[BATCH];
    struct mmsghdr msg[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
            memset(&msg[i], 0, sizeof msg[i]);
            msg[i].msg_hdr.msg_iov = &iov[i]; msg[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msg, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) return;
        *received += (unsigned long long)n;
    }
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: rtp_blast LOCAL_PORT BASE_PORT N STRIDE SECONDS\n"); return 2; }
    int local = atoi(argv[1]), base = atoi(argv[2]), n = atoi(argv[3]), stride = atoi(argv[4]);
    double secs = atof(argv[5]);
    if (n <= 0 || n > 20000) { fprintf(stderr, "N out of range\n"); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sz = 16 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(local) };
    inet_pton(AF_INET, "127.0.0.1", &me.sin_addr);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) { perror("bind"); return 1; }
    struct sockaddr_in *to = calloc(n, sizeof *to);
    unsigned char (*pkt)[LEN] = calloc(n, LEN);
    struct iovec *iov = calloc(n, sizeof *iov);
    struct mmsghdr *msg = calloc(n, sizeof *msg);
    if (!to || !pkt || !iov || !msg) return 1;
    for (int k = 0; k < n; k++) {
        to[k].sin_family = AF_INET;
        to[k].sin_port = htons(base + stride * k);
        inet_pton(AF_INET, "127.0.0.1", &to[k].sin_addr);
        pkt[k][0] = 0x80; pkt[k][1] = 8;                     /* V=2, PT 8 (PCMA) */
        unsigned ssrc = 0x10000000u + (unsigned)k;
        pkt[k][8] = ssrc >> 24; pkt[k][9] = ssrc >> 16; pkt[k][10] = ssrc >> 8; pkt[k][11] = ssrc;
        memset(pkt[k] + 12, 0xD5, LEN - 12);                  /* A-law silence */
        iov[k].iov_base = pkt[k]; iov[k].iov_len = LEN;
        msg[k].msg_hdr.msg_name = &to[k]; msg[k].msg_hdr.msg_namelen = sizeof to[k];
        msg[k].msg_hdr.msg_iov = &iov[k]; msg[k].msg_hdr.msg_iovlen = 1;
    }
    unsigned long long sent = 0, received = 0, late = 0;
    long long start = now_ns(), tick = start, end = start + (long long)(secs * 1e9);
    unsigned short seq = 1; unsigned ts = 0;
    while (tick < end) {
        for (int k = 0; k < n; k++) {
            pkt[k][2] = seq >> 8; pkt[k][3] = seq;
            pkt[k][4] = ts >> 24; pkt[k][5] = ts >> 16; pkt[k][6] = ts >> 8; pkt[k][7] = ts;
        }
        int off = 0;
        while (off < n) {
            int chunk = n - off < BATCH ? n - off : BATCH;
            int s = sendmmsg(fd, msg + off, chunk, 0);
            if (s <= 0) { if (errno == EINTR) continue; break; }
            off += s; sent += (unsigned long long)s;
        }
        seq++; ts += 160;
        tick += 20000000LL;
        drain(fd, &received);
        long long now = now_ns();
        if (now > tick) { late++; continue; }
        struct timespec t = { .tv_sec = tick / 1000000000LL, .tv_nsec = tick % 1000000000LL };
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    }
    /* Let the last round trips come back. */
    long long stop = now_ns() + 500000000LL;
    while (now_ns() < stop) { drain(fd, &received); struct timespec t = { 0, 5000000 }; nanosleep(&t, NULL); }
    double lost = sent ? 100.0 * (double)(sent - (received < sent ? received : sent)) / (double)sent : 0.0;
    printf("sent=%llu received=%llu lost_pct=%.3f late_ticks=%llu\n", sent, received, lost, late);
    return 0;
}
