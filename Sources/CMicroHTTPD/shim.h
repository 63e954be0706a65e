#ifndef SIGNALFORGE_CMICROHTTPD_SHIM_H
#define SIGNALFORGE_CMICROHTTPD_SHIM_H
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <microhttpd.h>

/* libmicrohttpd's start and info functions are variadic, which Swift cannot
 * call; these fixed-signature helpers are the only C written for the wrapper. */

/* libmicrohttpd runs without a listening socket (MHD_USE_NO_LISTEN_SOCKET):
 * the edge accepts and hands connections over with MHD_add_connection. */
struct sf_mhd_settings {
    unsigned int flags;
    unsigned int thread_pool_size;
    unsigned int connection_limit;
    unsigned int per_ip_connection_limit;
    unsigned int connection_timeout_seconds;
    size_t connection_memory_limit;
    /* Hooks (both required). */
    MHD_NotifyConnectionCallback notify_connection;
    void *notify_connection_cls;
    void *(*uri_log)(void *cls, const char *uri, struct MHD_Connection *con);
    void *uri_log_cls;
};

static inline struct MHD_Daemon *
sf_mhd_start(const struct sf_mhd_settings *s, uint16_t port,
             MHD_AccessHandlerCallback handler, void *handler_cls,
             MHD_RequestCompletedCallback completed, void *completed_cls)
{
    struct MHD_OptionItem ops[] = {
        { MHD_OPTION_THREAD_POOL_SIZE, (intptr_t) s->thread_pool_size, NULL },
        { MHD_OPTION_CONNECTION_LIMIT, (intptr_t) s->connection_limit, NULL },
        { MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t) s->per_ip_connection_limit, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t) s->connection_timeout_seconds, NULL },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t) s->connection_memory_limit, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    return MHD_start_daemon(s->flags, port, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_NOTIFY_CONNECTION, s->notify_connection, s->notify_connection_cls,
                            MHD_OPTION_URI_LOG_CALLBACK, s->uri_log, s->uri_log_cls,
                            MHD_OPTION_ARRAY, ops,
                            MHD_OPTION_END);
}


static inline const struct sockaddr *sf_mhd_client_address(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return i ? i->client_addr : NULL;
}

static inline int sf_mhd_connection_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return i ? (int) i->connect_fd : -1;
}

/* The per-socket pointer set in the notify-connection callback. */
static inline void *sf_mhd_socket_context(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* epoll_event is packed on x86-64; these keep its layout out of Swift. */
static inline int sf_epoll_ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, op, fd, &ev);
}

static inline int sf_epoll_wait(int ep, uint64_t *data, uint32_t *events, int max, int timeout_ms)
{
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(ep, evs, max, timeout_ms);
    for (int k = 0; k < n; k++) { data[k] = evs[k].data.u64; events[k] = evs[k].events; }
    return n;
}
#endif
