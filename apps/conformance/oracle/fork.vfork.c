// oracle-scenario: fork.vfork
// vfork: the child borrows the parent's memory and the parent sleeps until it exits.
// The child sleeps 50 ms, writes 0x5eed into a variable and exits; the parent, back from
// vfork, reads 0x5eed there.
#include "oracle.h"

volatile long vf_shared __attribute__((used));
struct timespec vf_ts __attribute__((used)) = {0, 50 * 1000 * 1000};

static __attribute__((noinline, noclone)) long do_vfork(void) {
  long r;
#if defined(__x86_64__)
  __asm__ volatile("syscall\n"
                   "test %%rax, %%rax\n  jnz 1f\n"
                   "mov %[ns], %%eax\n  lea vf_ts(%%rip), %%rdi\n  xor %%esi, %%esi\n  syscall\n"
                   "movq $0x5eed, vf_shared(%%rip)\n"
                   "mov %[ex], %%eax\n  xor %%edi, %%edi\n  syscall\n"
                   "1:\n"
                   : "=a"(r)
                   : "a"(SYS_vfork), [ns] "i"(SYS_nanosleep), [ex] "i"(SYS_exit)
                   : "rcx", "r11", "rdi", "rsi", "memory");
#else
  __asm__ volatile("push %%ebx\n  int $0x80\n"
                   "test %%eax, %%eax\n  jnz 1f\n"
                   "mov %[ns], %%eax\n  mov $vf_ts, %%ebx\n  xor %%ecx, %%ecx\n  int $0x80\n"
                   "movl $0x5eed, vf_shared\n"
                   "mov %[ex], %%eax\n  xor %%ebx, %%ebx\n  int $0x80\n"
                   "1:\n  pop %%ebx\n"
                   : "=a"(r)
                   : "a"(SYS_vfork), [ns] "i"(SYS_nanosleep), [ex] "i"(SYS_exit)
                   : "ecx", "memory");
#endif
  return r;
}

int main(void) {
  shared_init();
  vf_shared = 0;
  long long t0 = now_ns();
  long r = do_vfork();
  long long waited = now_ns() - t0;
  long seen = vf_shared;
  if (r < 0) fail("vfork returned %ld", r);
  int st;
  if (waitpid(r, &st, 0) != r) fail("waitpid: %s", strerror(errno));

  j_begin();
  j_hex("seen", seen);
  j_int("ret", r);
  j_bool("parentWaitedForChild", waited >= 50LL * 1000 * 1000);
  j_end();
  return 0;
}
