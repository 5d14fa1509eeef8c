/*
 * task.c - jobs, processes and threads: creation, start, exit, kill, the
 * zero-handles rules for tasks, and what mx_object_get_info reports.
 *
 * References: a thread holds its process, a process holds its job, a job
 * holds its parent.  A job does not hold its processes (SPEC: a process's
 * life is its handles and threads), nor a process its threads; those lists
 * are walked under their owner's lock and skip the dead.
 *
 * Death: a process dies when it exits, is killed (directly, through its
 * job, or when its last handle goes), or when the last thread of a started
 * process dies; its threads die with it, its table is closed and
 * TASK_TERMINATED is asserted on it and its threads.  Killing a job walks
 * its subtree with parent and sibling links while holding a reference on
 * the job it stands in: no recursion and no allocation.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- creation ---------------------------------------------------------------- */

static mxh_job_t *job_alloc(mxh_kernel_t *k, mxh_job_t *parent)
{
    mxh_job_t *j = (mxh_job_t *)mxh_obj_alloc(k, 0, MXH_OBJ_JOB,
                                              parent ? parent->obj.koid : 0);
    if (j)
        j->parent = parent;
    return j;
}

/* Links a published job under its parent (parent's lock held), which it
 * references. */
static void job_link(mxh_job_t *j)
{
    mxh_job_t *parent = j->parent;
    mxh_object_ref(&parent->obj);
    j->sib_prev = NULL;
    j->sib_next = parent->children;
    if (parent->children)
        parent->children->sib_prev = j;
    parent->children = j;
}

static void proc_link(mxh_proc_t *p, mxh_job_t *job)
{
    mxh_object_ref(&job->obj);
    p->job = job;
    p->job_prev = NULL;
    p->job_next = job->procs;
    if (job->procs)
        job->procs->job_prev = p;
    job->procs = p;
}

static mxh_thread_t *thread_alloc(mxh_kernel_t *k, mxh_proc_t *p)
{
    mxh_thread_t *t = (mxh_thread_t *)mxh_obj_alloc(k, 0, MXH_OBJ_THREAD,
                                                    p->obj.koid);
    if (t)
        t->proc = p;
    return t;
}

/* Links a published thread into its process (process lock held). */
static void thread_link(mxh_thread_t *t)
{
    mxh_proc_t *p = t->proc;
    mxh_object_ref(&p->obj);
    t->prev = NULL;
    t->next = p->threads;
    if (p->threads)
        p->threads->prev = t;
    p->threads = t;
    p->live_threads++;
}

int64_t mxh_kernel_boot(mxh_kernel_t *k, uint64_t init_secret,
                        mxh_obj_t **root_job, mxh_proc_t **init,
                        mxh_obj_t **init_thread)
{
    /* Koids in this order: root job, init, init's thread. */
    mxh_job_t *root = job_alloc(k, NULL);
    if (!root)
        return MXH_ERR_NO_MEMORY;
    mxh_obj_publish(&root->obj);
    mxh_proc_t *p = mxh_proc_create(k, init_secret, root->obj.koid);
    mxh_thread_t *t = p ? thread_alloc(k, p) : NULL;
    if (!t) {
        if (p)
            mxh_object_release(&p->obj);
        mxh_object_release(&root->obj);
        return MXH_ERR_NO_MEMORY;
    }
    spin_lock(&root->obj.lock);
    proc_link(p, root);
    spin_unlock(&root->obj.lock);
    mxh_obj_publish(&t->obj);
    spin_lock(&p->lock);
    p->state = TASK_RUNNING;
    p->started = true;
    t->state = TASK_RUNNING;
    thread_link(t);
    spin_unlock(&p->lock);
    *root_job = &root->obj;
    *init = p;
    *init_thread = &t->obj;
    return MXH_OK;
}

/* Looks `h` up as a task of `type` with `rights` (table lock held) and
 * references it.  Errors in SPEC order. */
static int64_t get_task(mxh_proc_t *p, uint64_t h, uint32_t type,
                        uint32_t rights, mxh_obj_t **out)
{
    slot_t *s = mxh_lookup(p, h);
    if (!s)
        return MXH_ERR_BAD_HANDLE;
    if (type && s->obj->type != type)
        return MXH_ERR_WRONG_TYPE;
    if ((s->rights & rights) != rights)
        return MXH_ERR_ACCESS_DENIED;
    mxh_object_ref(s->obj);
    *out = s->obj;
    return MXH_OK;
}

/* Takes `parent` h from p's table: a job with WRITE. */
static int64_t get_job(mxh_proc_t *p, uint64_t h, mxh_job_t **out)
{
    spin_lock(&p->lock);
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : get_task(p, h, MXH_OBJ_JOB, MXH_RIGHT_WRITE, (mxh_obj_t **)out);
    spin_unlock(&p->lock);
    return rc;
}

/* Binds the first handle to a new, published object for p, which was
 * charged for it (mxh_charge_one).  The creation reference goes either
 * way: on failure the object dies at once. */
static int64_t bind_new(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights)
{
    int64_t v = mxh_handle_create_charged(p, o, rights);
    if (v < 0)
        mxh_uncharge_one(p);
    mxh_object_release(o);
    return v;
}

int64_t mxh_job_create(mxh_proc_t *p, uint64_t parent_h, uint32_t options)
{
    mxh_job_t *parent;
    int64_t rc = get_job(p, parent_h, &parent);
    if (rc != MXH_OK)
        return rc;
    if (options != 0) {
        mxh_object_release(&parent->obj);
        return MXH_ERR_INVALID_ARGS;
    }
    spin_lock(&parent->obj.lock);
    bool killed = parent->killed;
    spin_unlock(&parent->obj.lock);
    rc = killed ? MXH_ERR_BAD_STATE : mxh_charge_one(p);
    mxh_job_t *j = rc == MXH_OK ? job_alloc(p->obj.kernel, parent) : NULL;
    if (rc == MXH_OK && !j) {
        mxh_uncharge_one(p);
        rc = MXH_ERR_NO_MEMORY;
    }
    if (rc != MXH_OK) {
        mxh_object_release(&parent->obj);
        return rc;
    }
    spin_lock(&parent->obj.lock);
    if (parent->killed) {
        spin_unlock(&parent->obj.lock);
        mxh_obj_discard(&j->obj);
        mxh_uncharge_one(p);
        mxh_object_release(&parent->obj);
        return MXH_ERR_BAD_STATE;
    }
    mxh_obj_publish(&j->obj);
    job_link(j);
    spin_unlock(&parent->obj.lock);
    mxh_object_release(&parent->obj);
    rc = bind_new(p, &j->obj, mxh_default_rights(MXH_OBJ_JOB));
    return rc;
}

int64_t mxh_process_create(mxh_proc_t *p, uint64_t job_h, uint64_t secret,
                           uint32_t options, mxh_proc_t **out)
{
    mxh_job_t *job;
    int64_t rc = get_job(p, job_h, &job);
    if (rc != MXH_OK)
        return rc;
    if (options != 0) {
        mxh_object_release(&job->obj);
        return MXH_ERR_INVALID_ARGS;
    }
    spin_lock(&job->obj.lock);
    bool killed = job->killed;
    spin_unlock(&job->obj.lock);
    rc = killed ? MXH_ERR_BAD_STATE : mxh_charge_one(p);
    if (rc != MXH_OK) {
        mxh_object_release(&job->obj);
        return rc;
    }
    mxh_proc_t *np = mxh_proc_create(p->obj.kernel, secret, job->obj.koid);
    if (!np) {
        mxh_uncharge_one(p);
        mxh_object_release(&job->obj);
        return MXH_ERR_NO_MEMORY;
    }
    np->state = TASK_NEW;
    spin_lock(&job->obj.lock);
    if (job->killed) {          /* killed meanwhile: born dead */
        spin_unlock(&job->obj.lock);
        mxh_uncharge_one(p);
        mxh_object_release(&np->obj);
        mxh_object_release(&job->obj);
        return MXH_ERR_BAD_STATE;
    }
    proc_link(np, job);
    spin_unlock(&job->obj.lock);
    mxh_object_release(&job->obj);
    /* Pinned for the caller's view before anyone can close the handle. */
    mxh_object_pin(&np->obj);
    rc = bind_new(p, &np->obj, mxh_default_rights(MXH_OBJ_PROCESS));
    if (rc < 0) {
        mxh_object_unpin(&np->obj);
        return rc;
    }
    *out = np;
    return rc;
}

int64_t mxh_thread_create(mxh_proc_t *p, uint64_t proc_h, uint32_t options)
{
    spin_lock(&p->lock);
    mxh_obj_t *o = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : get_task(p, proc_h, MXH_OBJ_PROCESS, MXH_RIGHT_WRITE, &o);
    spin_unlock(&p->lock);
    if (rc != MXH_OK)
        return rc;
    mxh_proc_t *target = (mxh_proc_t *)o;
    if (options != 0) {
        mxh_object_release(o);
        return MXH_ERR_INVALID_ARGS;
    }
    rc = mxh_proc_is_dead(target) ? MXH_ERR_BAD_STATE : mxh_charge_one(p);
    mxh_thread_t *t = rc == MXH_OK ? thread_alloc(p->obj.kernel, target) : NULL;
    if (rc == MXH_OK && !t) {
        mxh_uncharge_one(p);
        rc = MXH_ERR_NO_MEMORY;
    }
    if (rc != MXH_OK) {
        mxh_object_release(o);
        return rc;
    }
    spin_lock(&target->lock);
    if (target->dead) {
        spin_unlock(&target->lock);
        mxh_obj_discard(&t->obj);
        mxh_uncharge_one(p);
        mxh_object_release(o);
        return MXH_ERR_BAD_STATE;
    }
    mxh_obj_publish(&t->obj);
    thread_link(t);
    spin_unlock(&target->lock);
    mxh_object_release(o);
    return bind_new(p, &t->obj, mxh_default_rights(MXH_OBJ_THREAD));
}

/* ---- start ------------------------------------------------------------------------- */

/* Looks up a process and one of its threads for starting (p's table lock
 * held), in SPEC order: the process handle, then the thread handle. */
static int64_t get_start_pair(mxh_proc_t *p, uint64_t proc_h, uint64_t thread_h,
                              mxh_proc_t **tp, mxh_thread_t **tt)
{
    mxh_obj_t *po = NULL, *to = NULL;
    int64_t rc = get_task(p, proc_h, MXH_OBJ_PROCESS, MXH_RIGHT_WRITE, &po);
    if (rc == MXH_OK) {
        slot_t *s = mxh_lookup(p, thread_h);
        rc = !s ? MXH_ERR_BAD_HANDLE
           : s->obj->type != MXH_OBJ_THREAD ? MXH_ERR_WRONG_TYPE
           : !(s->rights & MXH_RIGHT_WRITE) ? MXH_ERR_ACCESS_DENIED
           : ((mxh_thread_t *)s->obj)->proc != (mxh_proc_t *)po
                 ? MXH_ERR_ACCESS_DENIED
           : MXH_OK;
        if (rc == MXH_OK) {
            to = s->obj;
            mxh_object_ref(to);
        } else {
            mxh_object_release(po);
            po = NULL;
        }
    }
    *tp = (mxh_proc_t *)po;
    *tt = (mxh_thread_t *)to;
    return rc;
}

int64_t mxh_process_start(mxh_proc_t *p, uint64_t proc_h, uint64_t thread_h,
                          uint64_t arg1, mxh_koid_t *koid_out)
{
    spin_lock(&p->lock);
    if (p->dead) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_STATE;
    }
    mxh_proc_t *target;
    mxh_thread_t *t;
    int64_t rc = get_start_pair(p, proc_h, thread_h, &target, &t);
    if (rc == MXH_OK) {
        slot_t *s = mxh_lookup(p, arg1);
        if (!s || !(s->rights & MXH_RIGHT_TRANSFER))
            rc = MXH_ERR_INVALID_ARGS;
    }
    spin_unlock(&p->lock);
    if (rc != MXH_OK) {
        if (t) {
            mxh_object_release(&t->obj);
            mxh_object_release(&target->obj);
        }
        return rc;
    }
    /* Both tables, in address order: the state check and the move of the
     * bootstrap handle are one step. */
    mxh_proc_t *first = p < target ? p : target, *second = p < target ? target : p;
    spin_lock(&first->lock);
    if (second != first)
        spin_lock(&second->lock);
    slot_t *s = p->dead ? NULL : mxh_lookup(p, arg1);
    rc = p->dead ? MXH_ERR_BAD_STATE
       : (!s || !(s->rights & MXH_RIGHT_TRANSFER)) ? MXH_ERR_INVALID_ARGS
       : (target->state != TASK_NEW || t->state != TASK_NEW) ? MXH_ERR_BAD_STATE
       : mxh_reserve_slots(target, 1);
    mxh_obj_t *moved = NULL;
    if (rc == MXH_OK) {
        uint32_t idx = slot_index(p, s);
        s = &p->slots[idx];
        moved = s->obj;
        uint32_t r = s->rights;
        mxh_slot_unbind(p, s);      /* still live: no quota moves */
        rc = mxh_slot_bind(target, moved, r);
        mxh_cancel_waiters(moved, p, (uint32_t)arg1, false);
        target->state = TASK_RUNNING;
        target->started = true;
        t->state = TASK_RUNNING;
    }
    if (second != first)
        spin_unlock(&second->lock);
    spin_unlock(&first->lock);
    *koid_out = target->obj.koid;
    mxh_object_release(&t->obj);
    mxh_object_release(&target->obj);
    return rc;
}

int64_t mxh_thread_start(mxh_proc_t *p, uint64_t thread_h)
{
    spin_lock(&p->lock);
    mxh_obj_t *o = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : get_task(p, thread_h, MXH_OBJ_THREAD, MXH_RIGHT_WRITE, &o);
    spin_unlock(&p->lock);
    if (rc != MXH_OK)
        return rc;
    mxh_thread_t *t = (mxh_thread_t *)o;
    mxh_proc_t *target = t->proc;
    spin_lock(&target->lock);
    if (target->state != TASK_RUNNING || t->state != TASK_NEW)
        rc = MXH_ERR_BAD_STATE;
    else
        t->state = TASK_RUNNING;
    spin_unlock(&target->lock);
    mxh_object_release(o);
    return rc;
}

/* ---- death ----------------------------------------------------------------------- */

int64_t mxh_process_exit(mxh_proc_t *p, int64_t retcode)
{
    spin_lock(&p->lock);
    if (p->dead) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_STATE;
    }
    p->exit_called = true;
    p->retcode = retcode;
    spin_unlock(&p->lock);
    mxh_proc_kill_code(p, retcode);
    return MXH_OK;
}

/* A thread dies; the last thread of a started process takes it along. */
static void thread_kill(mxh_thread_t *t)
{
    mxh_proc_t *p = t->proc;
    spin_lock(&p->lock);
    if (t->state == TASK_DEAD) {
        spin_unlock(&p->lock);
        return;
    }
    t->state = TASK_DEAD;
    bool last = --p->live_threads == 0 && p->state == TASK_RUNNING;
    mxh_object_signal_raw(&t->obj, 0, MXH_SIGNAL_TASK_TERMINATED);
    spin_unlock(&p->lock);
    if (last)
        mxh_proc_kill_code(p, 0);
}

/* Takes a reference unless the object is already on its way out. */
static bool ref_if_alive(mxh_obj_t *o)
{
    uint64_t cur = atomic_load(&o->counts);
    do {
        if ((uint32_t)cur == 0)
            return false;
    } while (!atomic_compare_exchange_weak(&o->counts, &cur, cur + 1));
    return true;
}

/* Kills every live process of job j (j referenced by the caller). */
static void kill_job_procs(mxh_job_t *j)
{
    spin_lock(&j->obj.lock);
    mxh_proc_t *p = j->procs;
    while (p && !ref_if_alive(&p->obj))
        p = p->job_next;
    while (p) {
        /* p is referenced, so it stays linked: its successor is safe to
         * read under the job's lock. */
        mxh_proc_t *next = p->job_next;
        while (next && !ref_if_alive(&next->obj))
            next = next->job_next;
        spin_unlock(&j->obj.lock);
        mxh_proc_kill_code(p, -1);
        mxh_object_release(&p->obj);
        spin_lock(&j->obj.lock);
        p = next;
    }
    spin_unlock(&j->obj.lock);
}

/* The first child of j (from `after`'s successor when given) that is
 * alive, referenced; NULL if none. */
static mxh_job_t *next_child(mxh_job_t *j, mxh_job_t *after)
{
    spin_lock(&j->obj.lock);
    mxh_job_t *c = after ? after->sib_next : j->children;
    while (c && !ref_if_alive(&c->obj))
        c = c->sib_next;
    spin_unlock(&j->obj.lock);
    return c;
}

static void job_kill(mxh_job_t *root)
{
    mxh_object_ref(&root->obj);
    mxh_job_t *j = root;
    for (;;) {
        spin_lock(&j->obj.lock);
        j->killed = true;
        spin_unlock(&j->obj.lock);
        kill_job_procs(j);
        mxh_job_t *c = next_child(j, NULL);
        if (c) {                    /* down: c references j as its parent */
            mxh_object_release(&j->obj);
            j = c;
            continue;
        }
        /* Up until a job with a next sibling. */
        for (;;) {
            if (j == root) {
                mxh_object_release(&j->obj);
                return;
            }
            mxh_job_t *parent = j->parent;
            mxh_object_ref(&parent->obj);
            mxh_job_t *sib = next_child(parent, j);
            mxh_object_release(&j->obj);
            if (sib) {
                mxh_object_release(&parent->obj);
                j = sib;
                break;
            }
            j = parent;
        }
    }
}

int64_t mxh_task_kill(mxh_proc_t *p, uint64_t h)
{
    spin_lock(&p->lock);
    mxh_obj_t *o = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : get_task(p, h, 0, 0, &o);
    if (rc == MXH_OK && o->type != MXH_OBJ_JOB && o->type != MXH_OBJ_PROCESS &&
        o->type != MXH_OBJ_THREAD)
        rc = MXH_ERR_WRONG_TYPE;
    else if (rc == MXH_OK && !(mxh_lookup(p, h)->rights & MXH_RIGHT_WRITE))
        rc = MXH_ERR_ACCESS_DENIED;
    spin_unlock(&p->lock);
    if (rc != MXH_OK) {
        if (o)
            mxh_object_release(o);
        return rc;
    }
    switch (o->type) {
    case MXH_OBJ_JOB: job_kill((mxh_job_t *)o); break;
    case MXH_OBJ_PROCESS: mxh_proc_kill_code((mxh_proc_t *)o, -1); break;
    default: thread_kill((mxh_thread_t *)o); break;
    }
    mxh_object_release(o);
    return MXH_OK;
}

void mxh_task_zero_handles(mxh_obj_t *o)
{
    if (o->type == MXH_OBJ_PROCESS)
        mxh_proc_kill_code((mxh_proc_t *)o, -1);
    else if (o->type == MXH_OBJ_THREAD)
        thread_kill((mxh_thread_t *)o);
}

void mxh_task_destroy(mxh_obj_t *o)
{
    if (o->type == MXH_OBJ_PROCESS) {
        mxh_proc_t *p = (mxh_proc_t *)o;
        mxh_proc_kill_code(p, -1);
        mxh_job_t *job = p->job;
        if (job) {
            spin_lock(&job->obj.lock);
            if (p->job_prev)
                p->job_prev->job_next = p->job_next;
            else
                job->procs = p->job_next;
            if (p->job_next)
                p->job_next->job_prev = p->job_prev;
            spin_unlock(&job->obj.lock);
            p->job = NULL;
            mxh_object_release(&job->obj);
        }
    } else if (o->type == MXH_OBJ_THREAD) {
        mxh_thread_t *t = (mxh_thread_t *)o;
        mxh_proc_t *p = t->proc;
        spin_lock(&p->lock);
        if (t->state != TASK_DEAD) {
            t->state = TASK_DEAD;
            p->live_threads--;
        }
        if (t->prev)
            t->prev->next = t->next;
        else
            p->threads = t->next;
        if (t->next)
            t->next->prev = t->prev;
        spin_unlock(&p->lock);
        mxh_object_release(&p->obj);
    } else if (o->type == MXH_OBJ_JOB) {
        mxh_job_t *j = (mxh_job_t *)o, *parent = j->parent;
        if (parent) {
            spin_lock(&parent->obj.lock);
            if (j->sib_prev)
                j->sib_prev->sib_next = j->sib_next;
            else
                parent->children = j->sib_next;
            if (j->sib_next)
                j->sib_next->sib_prev = j->sib_prev;
            spin_unlock(&parent->obj.lock);
            mxh_object_release(&parent->obj);
        }
    }
}

/* ---- information ----------------------------------------------------------------------- */

int64_t mxh_task_info(mxh_proc_t *p, uint64_t h, uint32_t topic,
                      mxh_process_info_t *info, mxh_koid_t *koids, size_t cap)
{
    uint32_t type = topic == MXH_INFO_JOB_CHILDREN || topic == MXH_INFO_JOB_PROCESSES
                        ? MXH_OBJ_JOB : MXH_OBJ_PROCESS;
    uint32_t rights = topic == MXH_INFO_PROCESS ? MXH_RIGHT_READ : MXH_RIGHT_ENUMERATE;
    spin_lock(&p->lock);
    mxh_obj_t *o = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE : get_task(p, h, type, rights, &o);
    spin_unlock(&p->lock);
    if (rc != MXH_OK)
        return rc;
    size_t n = 0;
    if (topic == MXH_INFO_PROCESS || topic == MXH_INFO_PROCESS_THREADS) {
        mxh_proc_t *t = (mxh_proc_t *)o;
        spin_lock(&t->lock);
        if (info) {
            info->return_code = t->retcode;
            info->started = t->started;
            info->exited = t->state == TASK_DEAD;
        }
        if (topic == MXH_INFO_PROCESS_THREADS) {
            for (mxh_thread_t *th = t->threads; th; th = th->next) {
                if (th->state == TASK_DEAD)
                    continue;
                if (n < cap)
                    koids[n] = th->obj.koid;
                n++;
            }
        }
        spin_unlock(&t->lock);
    } else {
        mxh_job_t *j = (mxh_job_t *)o;
        spin_lock(&j->obj.lock);
        if (topic == MXH_INFO_JOB_CHILDREN) {
            for (mxh_job_t *c = j->children; c; c = c->sib_next) {
                if (n < cap)
                    koids[n] = c->obj.koid;
                n++;
            }
        } else {
            for (mxh_proc_t *q = j->procs; q; q = q->job_next) {
                if (q->state == TASK_DEAD)
                    continue;
                if (n < cap)
                    koids[n] = q->obj.koid;
                n++;
            }
        }
        spin_unlock(&j->obj.lock);
    }
    mxh_object_release(o);
    return (int64_t)n;
}

int64_t mxh_process_handles_of(mxh_proc_t *p, uint64_t h,
                               mxh_handle_info_t *out, size_t cap)
{
    spin_lock(&p->lock);
    mxh_obj_t *o = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : get_task(p, h, MXH_OBJ_PROCESS, MXH_RIGHT_ENUMERATE, &o);
    spin_unlock(&p->lock);
    if (rc != MXH_OK)
        return rc;
    rc = mxh_proc_handles((mxh_proc_t *)o, out, cap);
    mxh_object_release(o);
    return rc;
}

int mxh_proc_state(mxh_proc_t *p, int64_t *retcode)
{
    spin_lock(&p->lock);
    int state = p->state;
    if (retcode)
        *retcode = p->retcode;
    spin_unlock(&p->lock);
    return state;
}
