// oracle-scenario: fork.clone-newsp-tls
// clone(CLONE_VM | CLONE_SETTLS | SIGCHLD, newsp, ..., tls = 0x7e570000): the child starts
// on the new stack (its sp is newsp) with the new thread pointer (x86-64: fs base, read
// back with arch_prctl(ARCH_GET_FS)). i386 passes a struct user_desc instead of a base:
// only the stack is checked there.
#include "oracle.h"

static char cstack[4096] __attribute__((aligned(16)));
volatile unsigned long cl_sp __attribute__((used));
volatile unsigned long cl_fs __attribute__((used));

int main(void) {
  shared_init();
  unsigned long newsp = (unsigned long)(cstack + sizeof cstack);
  long r;
#if defined(__x86_64__)
  register long r10 __asm__("r10") = 0;
  register long r8 __asm__("r8") = 0x7e570000;
  __asm__ volatile("syscall\n"
                   "test %%rax, %%rax\n  jnz 1f\n"
                   "mov %%rsp, cl_sp(%%rip)\n"
                   "mov $158, %%eax\n  mov $0x1003, %%edi\n  lea cl_fs(%%rip), %%rsi\n  syscall\n"
                   "mov %[ex], %%eax\n  xor %%edi, %%edi\n  syscall\n"
                   "1:\n"
                   : "=a"(r)
                   : "a"(SYS_clone), "D"(0x100 | 0x80000 | SIGCHLD), "S"(newsp), "d"(0), "r"(r10), "r"(r8), [ex] "i"(SYS_exit)
                   : "rcx", "r11", "memory");
#else
  __asm__ volatile("push %%ebx\n  mov %[fl], %%ebx\n  int $0x80\n"
                   "test %%eax, %%eax\n  jnz 1f\n"
                   "mov %%esp, cl_sp\n"
                   "mov %[ex], %%eax\n  xor %%ebx, %%ebx\n  int $0x80\n"
                   "1:\n  pop %%ebx\n"
                   : "=a"(r)
                   : "a"(SYS_clone), [fl] "i"(0x100 | SIGCHLD), "c"(newsp), "d"(0), "S"(0), "D"(0), [ex] "i"(SYS_exit)
                   : "memory");
#endif
  if (r < 0) fail("clone returned %ld", r);
  int st;
  if (waitpid(r, &st, 0) != r) fail("waitpid: %s", strerror(errno));

  j_begin();
  j_int("ret", r);
  j_ureg("childSp", cl_sp);
  j_bool("childSpIsNewsp", cl_sp == newsp);
#if defined(__x86_64__)
  j_ureg("childTls", cl_fs);
#endif
  j_end();
  return 0;
}
