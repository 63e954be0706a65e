/*
 * mhd_hello.c - minimal libmicrohttpd (0.9.75) peer for bench/http/run.sh.
 *
 *   mhd_hello [PORT [THREADS [shared]]]      defaults: 8080, 2
 *
 * GET /healthz -> 200 {"status":"ok"} with Content-Type: application/json,
 * the same body and header as SignalForge. Anything else -> 404.
 *
 * Daemon: MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
 * (= MHD_USE_EPOLL_INTERNAL_THREAD), MHD_OPTION_THREAD_POOL_SIZE = THREADS,
 * bound to 127.0.0.1.
 *
 * The response is queued on the SECOND access-handler call: the first call
 * (headers only) just sets *con_cls. Queuing on the first call makes MHD
 * 0.9.75 answer "Connection: close" and keep-alive is lost (see
 * /work/shared/BASELINES.md).
 *
 * By default a response object is built per request, as a real handler
 * must; with a third argument "shared" one persistent response object is
 * queued for every request instead (the ceiling for this library).
 *
 * Runs until SIGINT or SIGTERM, then stops the daemon and exits 0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>

static const char BODY[] = "{\"status\":\"ok\"}";
static const char NOT_FOUND[] = "{\"error\":\"not found\"}";
static struct MHD_Response *shared_response; /* only with "shared" */
static int first_call_marker;                /* address used as *con_cls */

static enum MHD_Result
queue_json(struct MHD_Connection *connection, unsigned int status,
           const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(connection, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *connection, const char *url,
        const char *method, const char *version, const char *upload_data,
        size_t *upload_data_size, void **con_cls)
{
    (void)cls; (void)version; (void)upload_data;

    if (*con_cls == NULL) {          /* first call: headers only */
        *con_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {    /* discard any request body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 && strcmp(url, "/healthz") == 0) {
        if (shared_response != NULL)
            return MHD_queue_response(connection, MHD_HTTP_OK, shared_response);
        return queue_json(connection, MHD_HTTP_OK, BODY, sizeof BODY - 1);
    }
    return queue_json(connection, MHD_HTTP_NOT_FOUND, NOT_FOUND, sizeof NOT_FOUND - 1);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 8080;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int shared = argc > 3 && strcmp(argv[3], "shared") == 0;
    if (port <= 0 || port > 65535 || threads <= 0) {
        fprintf(stderr, "usage: %s [PORT [THREADS [shared]]]\n", argv[0]);
        return 2;
    }

    if (shared) {
        shared_response = MHD_create_response_from_buffer(
            sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
        if (shared_response == NULL)
            return 1;
        MHD_add_response_header(shared_response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json");
    }

    /* Block the stop signals before MHD starts its threads (they inherit
       the mask), then wait for one in main. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, &handler, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
        MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "mhd_hello: MHD_start_daemon failed on 127.0.0.1:%d\n", port);
        return 1;
    }
    fprintf(stderr, "mhd_hello: listening on 127.0.0.1:%d, %d thread(s)%s\n",
            port, threads, shared ? ", shared response" : "");

    int sig = 0;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    if (shared_response != NULL)
        MHD_destroy_response(shared_response);
    return 0;
}
