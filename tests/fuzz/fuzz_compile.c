/*
 * fuzz_compile.c — libFuzzer target for the compiler: any bytes must either
 * compile or fail with a "file:line:col: message" error, never crash, hang or
 * leak. A program that compiles is also disassembled (to /dev/null), which
 * walks every code object, constant and line-table entry the compiler made.
 *
 *   make fuzz FUZZ_SECONDS=600
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null_out;
    if (!null_out)
        null_out = fopen("/dev/null", "w");
    struct vm_program *p = NULL;
    struct vm_error err;
    enum vm_result rc = vm_compile_source("fuzz.py", (const char *)data, size, &p, &err);
    if (rc == VM_OK) {
        if (null_out)
            vm_dis(p, null_out);
        vm_program_free(p);
    } else if (strncmp(err.msg, "fuzz.py:", 8) != 0) {
        /* Every compile error names the file and a position. */
        fprintf(stderr, "compile error without a position: %s\n", err.msg);
        abort();
    }
    return 0;
}
