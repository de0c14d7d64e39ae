// oracle-scenario: execve.from-user
// oracle-needs: execve-target
// execve from user mode: the task fills its registers with a pattern and execs a tiny
// static program (execve-target, no libc) that reports its registers as they are at its
// first instruction: the return register is 0, no register kept its pre-exec value, the
// stack pointer points at argc; the old image never resumes (the exit code is the new
// image's 0). Reports every general register at the first instruction.
#include "oracle.h"

#if defined(__x86_64__)
#define NDUMP 18
static const char *const dump_names[15] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
typedef unsigned long long word;
/* oracle_fill_execve(path, argv, envp, seed): pattern in every comparable register but the
 * syscall's own (rax rdi rsi rdx), then execve */
__asm__(".text\n.globl oracle_fill_execve\n.type oracle_fill_execve,@function\noracle_fill_execve:\n"
        "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  lea 0x01010101(%rcx), %rbx\n  lea 0x05050505(%rcx), %rbp\n  lea 0x06060606(%rcx), %r8\n"
        "  lea 0x07070707(%rcx), %r9\n  lea 0x08080808(%rcx), %r10\n  lea 0x09090909(%rcx), %r12\n"
        "  lea 0x0a0a0a0a(%rcx), %r13\n  lea 0x0b0b0b0b(%rcx), %r14\n  lea 0x0c0c0c0c(%rcx), %r15\n"
        "  mov $59, %eax\n  syscall\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n  ret\n");
/* dump index of comparable register i (comp_names order) */
static const int dump_of_comp[NCOMP] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14};
#define NGPR 15
#else
#define NDUMP 10
static const char *const dump_names[7] = {"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp"};
typedef unsigned int word;
__asm__(".text\n.globl oracle_fill_execve\n.type oracle_fill_execve,@function\noracle_fill_execve:\n"
        "  push %ebx\n  push %esi\n  push %edi\n  push %ebp\n"
        "  mov 32(%esp), %eax\n"
        "  lea 0x04040404(%eax), %esi\n  lea 0x05050505(%eax), %edi\n  lea 0x06060606(%eax), %ebp\n"
        "  mov 20(%esp), %ebx\n  mov 24(%esp), %ecx\n  mov 28(%esp), %edx\n"
        "  mov $11, %eax\n  int $0x80\n"
        "  pop %ebp\n  pop %edi\n  pop %esi\n  pop %ebx\n  ret\n");
static const int dump_of_comp[NCOMP] = {0, 1, 2, 3, 4, 5, 6};
#define NGPR 7
#endif
long oracle_fill_execve(const char *path, char *const argv[], char *const envp[], long seed);

int main(int argc, char **argv) {
  if (argc < 2) fail("usage: execve.from-user <path of execve-target>");
  shared_init();
  int p[2];
  if (pipe(p) != 0) fail("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) fail("fork: %s", strerror(errno));
  if (pid == 0) {
    if (dup2(p[1], 1) != 1) _exit(100);
    char *args[] = {argv[1], NULL};
    char *env[] = {NULL};
    S->ret = oracle_fill_execve(argv[1], args, env, 0x2200);
    _exit(101);
  }
  close(p[1]);
  word d[NDUMP];
  size_t got = 0;
  while (got < sizeof d) {
    ssize_t n = read(p[0], (char *)d + got, sizeof d - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) fail("waitpid: %s", strerror(errno));
  if (got != sizeof d) fail("the exec'd image reported %zu bytes, not %zu (execve returned %lld, status 0x%x)", got, sizeof d, S->ret, st);

  j_begin();
  j_int("ret", (long long)(long)d[0]);
  j_open("regsAtEntry");
  for (int i = 0; i < NGPR; i++) j_hex(dump_names[i], (long long)(long)d[i]);
  j_close();
  j_openarr("staleRegs");
  for (int i = 1; i < NCOMP; i++)
    if ((long long)(long)d[dump_of_comp[i]] == fill_value(0x2200, i)) j_str(NULL, comp_names[i]);
  j_closearr();
  j_hex("flags", (long long)d[NGPR]);
  j_bool("spPointsAtArgc", d[NGPR + 1] == 1);
  j_int("exitCode", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  j_end();
  return 0;
}
