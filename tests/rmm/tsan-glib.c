/*
 * ThreadSanitizer builds of the model's unit tests (meson setup ...
 * -Db_sanitize=thread): GLib's GMutex and GCond wait on futexes, which
 * ThreadSanitizer does not see, so every access under a realm lock would
 * look like a race.  This file, linked into the test programs of such a
 * build only, wraps the GLib calls the model and the export driver make
 * and tells ThreadSanitizer what they do.  Nothing in the model knows.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>
#include <sanitizer/tsan_interface.h>

/* GLib's own @fn, which this file's definition of @fn hides. */
#define REAL(fn)                                                        \
    static __typeof__(fn) *real;                                        \
    if (!real) {                                                        \
        real = (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn);                 \
        g_assert(real);                                                 \
    }

void g_mutex_lock(GMutex *m)
{
    REAL(g_mutex_lock);
    __tsan_mutex_pre_lock(m, 0);
    real(m);
    __tsan_mutex_post_lock(m, 0, 0);
}

void g_mutex_unlock(GMutex *m)
{
    REAL(g_mutex_unlock);
    __tsan_mutex_pre_unlock(m, 0);
    real(m);
    __tsan_mutex_post_unlock(m, 0);
}

void g_cond_wait(GCond *c, GMutex *m)
{
    REAL(g_cond_wait);
    __tsan_mutex_pre_unlock(m, 0);
    __tsan_mutex_post_unlock(m, 0);
    /* What the signaller did before it woke this thread happened before. */
    real(c, m);
    __tsan_acquire(c);
    __tsan_mutex_pre_lock(m, 0);
    __tsan_mutex_post_lock(m, 0, 0);
}

void g_cond_signal(GCond *c)
{
    REAL(g_cond_signal);
    __tsan_release(c);
    real(c);
}

void g_cond_broadcast(GCond *c)
{
    REAL(g_cond_broadcast);
    __tsan_release(c);
    real(c);
}

/*
 * GThreadPool hands its items over through a queue inside GLib: what the
 * pushing thread wrote before g_thread_pool_push() happened before the
 * worker runs on the item.
 */
typedef struct PoolFunc {
    GFunc func;
    gpointer user_data;
} PoolFunc;

static void pool_run(gpointer data, gpointer user_data)
{
    PoolFunc *pf = user_data;

    __tsan_acquire(data);
    pf->func(data, pf->user_data);
}

/* Each pool's PoolFunc, to free with the pool (GLib frees the pool). */
static GHashTable *pool_funcs;
G_LOCK_DEFINE_STATIC(pool_funcs);

GThreadPool *g_thread_pool_new(GFunc func, gpointer user_data,
                               gint max_threads, gboolean exclusive,
                               GError **error)
{
    PoolFunc *pf = g_new(PoolFunc, 1);
    GThreadPool *pool;

    REAL(g_thread_pool_new);
    pf->func = func;
    pf->user_data = user_data;
    pool = real(pool_run, pf, max_threads, exclusive, error);
    if (!pool) {
        g_free(pf);
        return NULL;
    }
    G_LOCK(pool_funcs);
    if (!pool_funcs) {
        pool_funcs = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    }
    g_hash_table_insert(pool_funcs, pool, pf);
    G_UNLOCK(pool_funcs);
    return pool;
}

gboolean g_thread_pool_push(GThreadPool *pool, gpointer data, GError **error)
{
    REAL(g_thread_pool_push);
    __tsan_release(data);
    return real(pool, data, error);
}

void g_thread_pool_free(GThreadPool *pool, gboolean immediate,
                        gboolean wait_)
{
    REAL(g_thread_pool_free);
    real(pool, immediate, wait_);
    G_LOCK(pool_funcs);
    g_hash_table_remove(pool_funcs, pool);
    G_UNLOCK(pool_funcs);
}
