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
 * the job it stands in: no recursion and no allocation.  Destroying a
 * chain of jobs (each held only by its child) does not recurse either: the
 * drops of parents a destruction sets off run in a loop (drop_parent).
 *
 * Creation: a new job, process or thread is published (koid, registry,
 * counters) only under the creator's table lock once its handle has room,
 * so a create that fails (NO_MEMORY, NO_RESOURCES, BAD_STATE from a race
 * with a kill) leaves no trace.
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
    /* Everything is allocated before anything is published, so that a
     * failure leaves no trace (no koid used, nothing counted). */
    mxh_job_t *root = job_alloc(k, NULL);
    mxh_proc_t *p = mxh_proc_alloc(k, init_secret, 0);
    mxh_thread_t *t = p ? thread_alloc(k, p) : NULL;
    if (!root || !p || !t) {
        if (root)
            mxh_obj_discard(&root->obj);
        if (p)
            mxh_obj_discard(&p->obj);
        if (t)
            mxh_obj_discard(&t->obj);
        return MXH_ERR_NO_MEMORY;
    }
    /* Koids in this order: root job, init, init's thread. */
    mxh_obj_publish(&root->obj);
    p->obj.related_koid = root->obj.koid;
    mxh_obj_publish(&p->obj);
    mxh_proc_list_add(p);
    spin_lock(&root->obj.lock);
    proc_link(p, root);
    spin_unlock(&root->obj.lock);
    t->obj.related_koid = p->obj.koid;
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

/* Locks the tables of a and b (which may be one) in address order. */
static void lock_two(mxh_proc_t *a, mxh_proc_t *b)
{
    mxh_proc_t *first = a < b ? a : b, *second = a < b ? b : a;
    spin_lock(&first->lock);
    if (second != first)
        spin_lock(&second->lock);
}

static void unlock_two(mxh_proc_t *a, mxh_proc_t *b)
{
    if (a != b)
        spin_unlock(&b->lock);
    spin_unlock(&a->lock);
}

/* A new task object is published only once nothing can fail any more:
 * with the creator's table locked, a slot reserved in it and the handle
 * charged (mxh_charge_one), its one reference becomes its first handle's.
 * So a failed create uses no koid and counts nothing. */
static void publish_first_handle(mxh_obj_t *o)
{
    atomic_store(&o->counts, ONE_HANDLE + 1);
    mxh_obj_publish(o);
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
    if (rc == MXH_OK) {
        /* Table -> job lock order. */
        spin_lock(&p->lock);
        rc = p->dead ? MXH_ERR_BAD_STATE : mxh_reserve_slots(p, 1);
        if (rc == MXH_OK) {
            spin_lock(&parent->obj.lock);
            if (parent->killed) {
                rc = MXH_ERR_BAD_STATE;
            } else {
                publish_first_handle(&j->obj);
                job_link(j);
            }
            spin_unlock(&parent->obj.lock);
        }
        if (rc == MXH_OK)
            rc = mxh_slot_bind(p, &j->obj, mxh_default_rights(MXH_OBJ_JOB));
        spin_unlock(&p->lock);
        if (rc < 0) {
            mxh_obj_discard(&j->obj);
            mxh_uncharge_one(p);
        }
    }
    mxh_object_release(&parent->obj);
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
    mxh_proc_t *np = rc == MXH_OK
        ? mxh_proc_alloc(p->obj.kernel, secret, job->obj.koid) : NULL;
    if (rc == MXH_OK && !np) {
        mxh_uncharge_one(p);
        rc = MXH_ERR_NO_MEMORY;
    }
    if (rc == MXH_OK) {
        np->state = TASK_NEW;
        /* On the kernel's list before anyone can see it (the list's lock
         * comes before table locks). */
        mxh_proc_list_add(np);
        spin_lock(&p->lock);
        rc = p->dead ? MXH_ERR_BAD_STATE : mxh_reserve_slots(p, 1);
        if (rc == MXH_OK) {
            spin_lock(&job->obj.lock);
            if (job->killed) {
                rc = MXH_ERR_BAD_STATE;
            } else {
                publish_first_handle(&np->obj);
                proc_link(np, job);
            }
            spin_unlock(&job->obj.lock);
        }
        if (rc == MXH_OK) {
            /* Pinned for the caller's view before anyone can close the
             * handle. */
            mxh_object_pin(&np->obj);
            rc = mxh_slot_bind(p, &np->obj, mxh_default_rights(MXH_OBJ_PROCESS));
        }
        spin_unlock(&p->lock);
        if (rc < 0) {
            mxh_proc_list_remove(np);
            mxh_obj_discard(&np->obj);
            mxh_uncharge_one(p);
        } else {
            *out = np;
        }
    }
    mxh_object_release(&job->obj);
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
    if (rc == MXH_OK) {
        lock_two(p, target);
        rc = p->dead ? MXH_ERR_BAD_STATE : mxh_reserve_slots(p, 1);
        if (rc == MXH_OK && target->dead)
            rc = MXH_ERR_BAD_STATE;
        if (rc == MXH_OK) {
            publish_first_handle(&t->obj);
            thread_link(t);
            rc = mxh_slot_bind(p, &t->obj, mxh_default_rights(MXH_OBJ_THREAD));
        }
        unlock_two(p, target);
        if (rc < 0) {
            mxh_obj_discard(&t->obj);
            mxh_uncharge_one(p);
        }
    }
    mxh_object_release(o);
    return rc;
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

/* A dying task drops its reference on its parent (a thread's process, a
 * process's job, a job's parent job), which may die too and drop its own:
 * a chain as deep as jobs nest.  The first drop on a thread runs a loop;
 * the drops it sets off are queued on their dying child (pinned until
 * then) instead of recursing. */
static _Thread_local mxh_obj_t *tl_drops;
static _Thread_local bool tl_dropping;

static mxh_obj_t **drop_link(mxh_obj_t *o)
{
    switch (o->type) {
    case MXH_OBJ_JOB: return &((mxh_job_t *)o)->drop_next;
    case MXH_OBJ_PROCESS: return &((mxh_proc_t *)o)->drop_next;
    default: return &((mxh_thread_t *)o)->drop_next;
    }
}

/* Takes o's parent pointer (NULL if none) and clears it. */
static mxh_obj_t *take_parent(mxh_obj_t *o)
{
    mxh_obj_t *parent = NULL;
    if (o->type == MXH_OBJ_JOB) {
        mxh_job_t *j = (mxh_job_t *)o;
        parent = j->parent ? &j->parent->obj : NULL;
        j->parent = NULL;
    } else if (o->type == MXH_OBJ_PROCESS) {
        mxh_proc_t *p = (mxh_proc_t *)o;
        parent = p->job ? &p->job->obj : NULL;
        p->job = NULL;
    } else {
        mxh_thread_t *t = (mxh_thread_t *)o;
        parent = &t->proc->obj;
        t->proc = NULL;
    }
    return parent;
}

static void drop_parent(mxh_obj_t *o)
{
    if (tl_dropping) {
        mxh_object_pin(o);
        *drop_link(o) = tl_drops;
        tl_drops = o;
        return;
    }
    tl_dropping = true;
    mxh_obj_t *parent = take_parent(o);
    if (parent)
        mxh_object_release(parent);
    while (tl_drops) {
        mxh_obj_t *c = tl_drops;
        tl_drops = *drop_link(c);
        parent = take_parent(c);
        if (parent)
            mxh_object_release(parent);
        mxh_object_unpin(c);
    }
    tl_dropping = false;
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
        }
    } else if (o->type == MXH_OBJ_THREAD) {
        mxh_thread_t *t = (mxh_thread_t *)o;
        mxh_proc_t *p = t->proc;
        /* A thread that goes without ever losing a handle (init's) dies
         * now: the last thread of a started process ends it. */
        thread_kill(t);
        spin_lock(&p->lock);
        if (t->prev)
            t->prev->next = t->next;
        else
            p->threads = t->next;
        if (t->next)
            t->next->prev = t->prev;
        spin_unlock(&p->lock);
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
        }
    }
    drop_parent(o);
}

/* ---- information ----------------------------------------------------------------------- */

int64_t mxh_task_info(mxh_proc_t *p, uint64_t h, uint32_t topic,
                      mxh_process_info_t *info, mxh_koid_t *koids, size_t cap)
{
    uint32_t type = topic == MXH_INFO_JOB_CHILDREN || topic == MXH_INFO_JOB_PROCESSES
                        ? MXH_OBJ_JOB : MXH_OBJ_PROCESS;
    uint32_t rights = topic == MXH_INFO_PROCESS ? MXH_RIGHT_READ : MXH_RIGHT_ENUMERATE;
    bool known = topic == MXH_INFO_PROCESS || topic == MXH_INFO_PROCESS_THREADS ||
                 topic == MXH_INFO_JOB_CHILDREN || topic == MXH_INFO_JOB_PROCESSES;
    spin_lock(&p->lock);
    mxh_obj_t *o = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : !known ? MXH_ERR_NOT_SUPPORTED      /* the topic first */
               : get_task(p, h, type, rights, &o);
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
