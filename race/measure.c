/*
 * measure.c — run one command and report its peak memory, for race/check.py --score.
 *
 *   measure OUT-FILE COMMAND [ARG...]
 *
 * Forks, runs COMMAND in the child, waits for it with wait4() and writes one line
 * "status=<wait status> maxrss_kb=<peak RSS>" to OUT-FILE. It exists because a
 * child forked straight from the Python driver inherits the driver's own peak RSS
 * (the kernel keeps the high-water mark across exec), which would swamp the few
 * megabytes a small program uses. Forked from this tiny process instead, the
 * child starts from a floor of a few hundred kilobytes.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUT-FILE COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("measure: exec");
        _exit(127);
    }
    int status;
    struct rusage usage;
    while (wait4(pid, &status, 0, &usage) < 0) {
        perror("measure: wait4");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (out == NULL) {
        perror("measure: open");
        return 2;
    }
    fprintf(out, "status=%d maxrss_kb=%ld\n", status, usage.ru_maxrss);
    if (fclose(out) != 0) {
        perror("measure: close");
        return 2;
    }
    return 0;
}
