/*
 * runone.c — run one program for race/check.py: time-bounded, in a process group
 * of its own, and with every process it leaves behind killed and reaped.
 *
 *   runone REPORT-FILE TIMEOUT-MS COMMAND [ARG...]
 *
 * Runs COMMAND as a child in a new process group and waits for it, at most
 * TIMEOUT-MS milliseconds. Whatever happens (the command ends, the limit passes,
 * this helper gets SIGTERM, SIGINT or SIGHUP, or its own parent dies) it then
 * kills every process descended from it and reaps them all; after a normal end
 * the others first get 0.2 s to end on their own. It is a child
 * subreaper (prctl PR_SET_CHILD_SUBREAPER), so a grandchild whose parent died,
 * even one that called setsid() or double-forked to leave the process group,
 * is re-parented to this helper and found by the scan of /proc; nothing the
 * command started can outlive the run.
 *
 * Writes one line to REPORT-FILE:
 *   status=<wait status> maxrss_kb=<peak RSS> wall_us=<run time> timed_out=<0|1>
 *   interrupted=<0|1> leftovers=<processes still alive after the grace, killed>
 * or "error=<message>" when the command could not be started.
 *
 * The peak RSS is the command's own (wait4), measured from this tiny process:
 * a child forked straight from the Python driver would inherit the driver's peak
 * (the kernel keeps the high-water mark across exec), which would swamp the few
 * megabytes a small program uses.
 *
 * Single-threaded: signals are blocked and taken synchronously with
 * sigtimedwait(), so no state is shared with a signal handler.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A growable set of pids: the processes of one scan, or every pid already killed. */
struct pids {
    pid_t *pid;
    pid_t *ppid;
    size_t len, cap;
};

static int pids_add(struct pids *s, pid_t pid, pid_t ppid)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        pid_t *p = realloc(s->pid, cap * sizeof *p);
        if (p == NULL)
            return -1;
        s->pid = p;
        pid_t *q = realloc(s->ppid, cap * sizeof *q);
        if (q == NULL)
            return -1;
        s->ppid = q;
        s->cap = cap;
    }
    s->pid[s->len] = pid;
    s->ppid[s->len] = ppid;
    s->len++;
    return 0;
}

static int pids_has(const struct pids *s, pid_t pid)
{
    for (size_t i = 0; i < s->len; i++)
        if (s->pid[i] == pid)
            return 1;
    return 0;
}

/* The parent pid and state of PID from /proc/PID/stat; -1 when it is gone. */
static pid_t parent_of(pid_t pid, char *state)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold blanks and ')', so take the last one. */
    char *end = strrchr(buf, ')');
    int ppid;
    if (end == NULL || sscanf(end + 1, " %c %d", state, &ppid) != 2)
        return -1;
    return (pid_t)ppid;
}

/*
 * One pass over /proc: every live process descended from this one (zombies are
 * only waiting to be reaped). With killed, each gets SIGKILL and new pids go into
 * *killed, so each is counted once; the command itself (spare) is killed but not
 * counted. Returns how many live descendants it found, or -1 when /proc cannot
 * be read or the list does not fit in memory (then whatever was found is killed).
 */
static int scan_descendants(struct pids *killed, pid_t spare)
{
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return -1;
    struct pids all = {0};
    struct dirent *d;
    int failed = 0;
    while (!failed && (d = readdir(proc)) != NULL) {
        if (!isdigit((unsigned char)d->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(d->d_name);
        char state = '?';
        pid_t ppid = parent_of(pid, &state);
        if (ppid > 0 && state != 'Z' && pids_add(&all, pid, ppid) != 0)
            failed = 1;
    }
    closedir(proc);
    /* The descendants: a fixed point of "its parent is us or one of ours". */
    struct pids tree = {0};
    int grew = !failed, found = 0;
    pid_t self = getpid();
    while (grew) {
        grew = 0;
        for (size_t i = 0; i < all.len && !failed; i++) {
            if (pids_has(&tree, all.pid[i]))
                continue;
            if (all.ppid[i] == self || pids_has(&tree, all.ppid[i])) {
                if (pids_add(&tree, all.pid[i], all.ppid[i]) != 0)
                    failed = 1;
                grew = 1;
            }
        }
    }
    for (size_t i = 0; i < tree.len; i++) {
        found++;
        if (killed == NULL)
            continue;
        kill(tree.pid[i], SIGKILL);
        if (tree.pid[i] != spare && !pids_has(killed, tree.pid[i]))
            pids_add(killed, tree.pid[i], tree.ppid[i]);
    }
    free(all.pid);
    free(all.ppid);
    free(tree.pid);
    free(tree.ppid);
    return failed ? -1 : found;
}

/* Kill and reap every descendant; *killed collects the pids killed. */
static void kill_tree(struct pids *killed)
{
    for (;;) {
        int found = scan_descendants(killed, 0);
        pid_t p;
        int status;
        while ((p = waitpid(-1, &status, WNOHANG)) > 0)
            ;
        int no_children = p < 0 && errno == ECHILD;
        if (found == 0 && no_children)
            break;
        if (found < 0 && no_children)
            break;          /* no full scan: every child is reaped, the best we can know */
        struct timespec pause = {0, 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/*
 * After the command ended: give the processes it leaves a moment to end on their
 * own (a sanitizer's llvm-symbolizer child ends when its pipe closes, just after
 * the program), reaping them as they go. Whatever is still alive after
 * GRACE_US is a leftover, and kill_tree() kills it.
 */
#define GRACE_US 200000LL

static void grace(const sigset_t *wanted)
{
    long long until = now_us() + GRACE_US;
    while (now_us() < until) {
        int status;
        while (waitpid(-1, &status, WNOHANG) > 0)
            ;
        if (scan_descendants(NULL, 0) <= 0)
            return;
        struct timespec tick = {0, 5 * 1000 * 1000};
        sigtimedwait(wanted, NULL, &tick);
    }
}

static int write_report(const char *path, const char *line)
{
    FILE *out = fopen(path, "w");
    if (out == NULL) {
        perror("runone: open report");
        return 2;
    }
    fputs(line, out);
    if (fclose(out) != 0) {
        perror("runone: write report");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s REPORT-FILE TIMEOUT-MS COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    const char *report = argv[1];
    char *end;
    long long timeout_ms = strtoll(argv[2], &end, 10);
    if (*end != '\0' || timeout_ms <= 0) {
        fprintf(stderr, "runone: TIMEOUT-MS must be a positive number, got '%s'\n", argv[2]);
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("runone: prctl(PR_SET_CHILD_SUBREAPER)");
        return 2;
    }
    sigset_t wanted, old;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGCHLD);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGHUP);
    sigprocmask(SIG_BLOCK, &wanted, &old);
    pid_t parent = getppid();

    /* A close-on-exec pipe tells us whether the exec worked, and its errno if not. */
    int exec_pipe[2];
    if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
        perror("runone: pipe");
        return 2;
    }
    long long start_us = now_us();
    pid_t child = fork();
    if (child < 0) {
        perror("runone: fork");
        return 2;
    }
    if (child == 0) {
        close(exec_pipe[0]);
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[3], argv + 3);
        int err = errno;
        ssize_t ignored = write(exec_pipe[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    setpgid(child, child);      /* both sides set it: no window where it is ours */
    close(exec_pipe[1]);
    int exec_errno = 0;
    ssize_t got;
    while ((got = read(exec_pipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    close(exec_pipe[0]);
    struct pids killed = {0};
    if (got == (ssize_t)sizeof exec_errno) {
        kill_tree(&killed);
        char line[512];
        snprintf(line, sizeof line, "error=cannot start %s: %s\n", argv[3], strerror(exec_errno));
        return write_report(report, line);
    }

    int status = 0, done = 0, timed_out = 0, interrupted = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof usage);
    long long deadline_us = start_us + timeout_ms * 1000LL;
    long long wall_us = 0;
    while (!done) {
        struct timespec tick = {0, 20 * 1000 * 1000};
        int sig = sigtimedwait(&wanted, NULL, &tick);
        /* Reap whatever ended: the command, or an orphan re-parented to us. */
        pid_t p;
        int st;
        struct rusage ru;
        while ((p = wait4(-1, &st, WNOHANG, &ru)) > 0) {
            if (p == child) {
                status = st;
                usage = ru;
                wall_us = now_us() - start_us;
                done = 1;
            }
        }
        if (done)
            break;
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || getppid() != parent) {
            interrupted = 1;
            break;
        }
        if (now_us() >= deadline_us) {
            timed_out = 1;
            break;
        }
    }
    if (!done) {
        /* The whole tree at once, the command with it (not counted as a leftover). */
        scan_descendants(&killed, child);
        kill(-child, SIGKILL);
        kill(child, SIGKILL);
        while (wait4(child, &status, 0, &usage) < 0 && errno == EINTR)
            ;
        wall_us = now_us() - start_us;
    } else {
        grace(&wanted);
    }
    kill_tree(&killed);
    size_t leftovers = killed.len;
    free(killed.pid);
    free(killed.ppid);
    char line[256];
    snprintf(line, sizeof line,
             "status=%d maxrss_kb=%ld wall_us=%lld timed_out=%d interrupted=%d leftovers=%zu\n",
             status, usage.ru_maxrss, wall_us, timed_out, interrupted, leftovers);
    int rc = write_report(report, line);
    return interrupted ? 3 : rc;
}
