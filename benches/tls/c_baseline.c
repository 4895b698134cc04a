/* The handshake workload on libssl from C: a second reference next to the Rust baseline (the
 * openssl crate's SslStream<TcpStream>, benches/tls/raw.rs).
 *
 * The same workload with the same library: client and server threads in one process,
 * blocking sockets, contexts built once; each connection: TCP connect (TCP_NODELAY), handshake,
 * 1 byte each way, close_notify from the client, close. The client verifies the chain (trusting
 * only the benchmark root) and the host name "localhost". With resume=1 the client offers the
 * session of the previous connection (taken after the 1-byte read, so TLS 1.3 tickets are in).
 * It also runs full handshakes, to relate it to the Rust baseline.
 *
 * Built by the bench at run time: cc -O2 c_baseline.c -lssl -lcrypto -lpthread
 * Usage: c_baseline PKI_DIR 12|13 ecdsa|rsa SECONDS 0|1   -> prints "RESULT {json}"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop_flag;
static int listen_fd;
static SSL_CTX *server_ctx;

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "c_baseline: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct server_result {
    double cpu;
    long failures;
};

static void *serve(void *arg)
{
    struct server_result *r = arg;
    double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            die("accept");
        if (atomic_load(&stop_flag)) {
            close(fd);
            break;
        }
        nodelay(fd);
        SSL *ssl = SSL_new(server_ctx);
        SSL_set_fd(ssl, fd);
        char b;
        int ok = SSL_accept(ssl) == 1 && SSL_read(ssl, &b, 1) == 1 && SSL_write(ssl, &b, 1) == 1 &&
                 SSL_read(ssl, &b, 1) == 0 && SSL_get_error(ssl, 0) == SSL_ERROR_ZERO_RETURN;
        if (!ok) {
            r->failures++;
            ERR_clear_error();
        }
        SSL_free(ssl);
        close(fd);
    }
    r->cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    return NULL;
}

static void versions(SSL_CTX *ctx, int v13, const char *kind)
{
    int v = v13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (!SSL_CTX_set_min_proto_version(ctx, v) || !SSL_CTX_set_max_proto_version(ctx, v))
        die("version");
    if (!SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256"))
        die("suite");
    const char *c12 = strcmp(kind, "rsa") == 0 ? "ECDHE-RSA-AES128-GCM-SHA256"
                                                : "ECDHE-ECDSA-AES128-GCM-SHA256";
    if (!SSL_CTX_set_cipher_list(ctx, c12))
        die("cipher");
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s PKI_DIR 12|13 ecdsa|rsa SECONDS 0|1\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *kind = argv[3];
    int v13 = strcmp(argv[2], "13") == 0;
    double seconds = atof(argv[4]);
    int resume = atoi(argv[5]);
    char path[4096];

    server_ctx = SSL_CTX_new(TLS_server_method());
    versions(server_ctx, v13, kind);
    snprintf(path, sizeof path, "%s/%s-leaf.pem", dir, kind);
    if (SSL_CTX_use_certificate_file(server_ctx, path, SSL_FILETYPE_PEM) != 1)
        die("certificate");
    snprintf(path, sizeof path, "%s/%s-leaf.key", dir, kind);
    if (SSL_CTX_use_PrivateKey_file(server_ctx, path, SSL_FILETYPE_PEM) != 1)
        die("key");

    SSL_CTX *client_ctx = SSL_CTX_new(TLS_client_method());
    versions(client_ctx, v13, kind);
    snprintf(path, sizeof path, "%s/%s-ca.pem", dir, kind);
    if (SSL_CTX_load_verify_locations(client_ctx, path, NULL) != 1)
        die("CA");
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, NULL);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) || listen(listen_fd, 128))
        die("listen");
    socklen_t len = sizeof addr;
    getsockname(listen_fd, (struct sockaddr *)&addr, &len);

    struct server_result sr = {0, 0};
    pthread_t server;
    pthread_create(&server, NULL, serve, &sr);

    SSL_SESSION *session = NULL;
    long count = 0, reused = 0;
    double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    double t0 = now_s(CLOCK_MONOTONIC);
    while (now_s(CLOCK_MONOTONIC) - t0 < seconds) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr))
            die("connect");
        nodelay(fd);
        SSL *ssl = SSL_new(client_ctx);
        SSL_set_fd(ssl, fd);
        SSL_set_tlsext_host_name(ssl, "localhost");
        SSL_set1_host(ssl, "localhost");
        if (session)
            SSL_set_session(ssl, session);
        char b = 7;
        if (SSL_connect(ssl) != 1 || SSL_write(ssl, &b, 1) != 1 || SSL_read(ssl, &b, 1) != 1)
            die("client connection");
        reused += SSL_session_reused(ssl);
        if (resume) {
            SSL_SESSION_free(session);
            session = SSL_get1_session(ssl);
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
        count++;
    }
    double secs = now_s(CLOCK_MONOTONIC) - t0;
    double cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    atomic_store(&stop_flag, 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    connect(fd, (struct sockaddr *)&addr, sizeof addr);
    pthread_join(server, NULL);
    close(fd);
    printf("RESULT {\"count\": %ld, \"secs\": %.6f, \"cpu_s\": %.6f, \"reused\": %ld, "
           "\"failures\": %ld}\n",
           count, secs, cpu + sr.cpu, reused, sr.failures);
    return 0;
}
