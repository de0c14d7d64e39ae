/* oracle.h: what every archkit oracle program shares (x86-64 and i386, Linux).
 *
 * A program does what one conformance scenario does, on the machine's own kernel, and
 * prints ONE JSON object on stdout with what user mode saw, in the kit's arch-neutral
 * vocabulary (ret, handlers, syscallEntries, userInsnsBetweenEntries, killedBy, ...).
 * Errors go to stderr with exit status 3. Directives for the runner sit in each
 * program's leading comment lines: "// oracle-scenario: <id>", "// oracle-aliases: <id>...",
 * "// oracle-needs: <helper>...", "// oracle-helper: <name>", "// oracle-cflags: ...".
 */
#ifndef ORACLE_H
#define ORACLE_H

#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wunused-function"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>

/* ------------------------------------------------------------------ the arch */

#if defined(__x86_64__)
#define ORACLE_ARCH "x86_64"
#define R_IP(r) ((r).rip)
#define R_SP(r) ((r).rsp)
#define R_NR(r) ((r).orig_rax)
#define R_RET(r) ((r).rax)
#define R_FLAGS(r) ((r).eflags)
#define R_A0(r) ((r).rdi)
#define R_A1(r) ((r).rsi)
#define R_A2(r) ((r).rdx)
#define UC_RET REG_RAX
#define UC_IP REG_RIP
#elif defined(__i386__)
#define ORACLE_ARCH "i386"
#define R_IP(r) ((r).eip)
#define R_SP(r) ((r).esp)
#define R_NR(r) ((r).orig_eax)
#define R_RET(r) ((r).eax)
#define R_FLAGS(r) ((r).eflags)
#define R_A0(r) ((r).ebx)
#define R_A1(r) ((r).ecx)
#define R_A2(r) ((r).edx)
#define UC_RET REG_EAX
#define UC_IP REG_EIP
#else
#error "archkit oracle programs exist for x86_64 and i386 only"
#endif

/* the trap instruction ("syscall" / "int $0x80") is 2 bytes on both */
#define SYSCALL_INSN_LEN 2
#define X86_TF 0x100UL

#define K_SA_RESTORER 0x04000000UL
#define K_ERESTARTSYS 512
#define K_ERESTARTNOINTR 513
#define K_ERESTARTNOHAND 514
#define K_ERESTART_RESTARTBLOCK 516

/* ------------------------------------------------------------------ errors */

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "oracle: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(3);
}

/* A last resort if the runner that started this program is gone: no oracle program may
 * outlive two minutes (alarm() is not inherited by fork children; traced children die
 * with their tracer through PTRACE_O_EXITKILL). */
__attribute__((constructor)) static void oracle_deadline(void) {
  alarm(120);
}

/* ------------------------------------------------------------------ raw syscalls */

/* The syscall instruction itself, inline, so that a restart rewinds onto this very
 * instruction; the result is the raw return register (a negative errno on error, which is
 * what a libc-style wrapper's "ret" means in the kit). */
#if defined(__x86_64__)
static inline long rsys(long n, long a, long b, long c, long d, long e) {
  long r;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
  return r;
}
#else
static inline long rsys(long n, long a, long b, long c, long d, long e) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
  return r;
}
#endif
#define SYS0(n) rsys((n), 0, 0, 0, 0, 0)
#define SYS1(n, a) rsys((n), (long)(a), 0, 0, 0, 0)
#define SYS2(n, a, b) rsys((n), (long)(a), (long)(b), 0, 0, 0)
#define SYS3(n, a, b, c) rsys((n), (long)(a), (long)(b), (long)(c), 0, 0)
#define SYS4(n, a, b, c, d) rsys((n), (long)(a), (long)(b), (long)(c), (long)(d), 0)
#define SYS5(n, a, b, c, d, e) rsys((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e))

static void rexit(int code) __attribute__((noreturn));
static void rexit(int code) {
  for (;;) SYS1(SYS_exit, code);
}

/* The arch-neutral names of the syscalls the scenarios are about. */
static const char *sysname(long nr) {
  switch (nr) {
  case SYS_read: return "read";
  case SYS_write: return "write";
  case SYS_rt_sigaction: return "rt_sigaction";
  case SYS_rt_sigreturn: return "rt_sigreturn";
#ifdef SYS_sigreturn
  case SYS_sigreturn: return "sigreturn";
#endif
  case SYS_sched_yield: return "sched_yield";
  case SYS_nanosleep: return "nanosleep";
  case SYS_getpid: return "getpid";
  case SYS_clone: return "clone";
  case SYS_fork: return "fork";
  case SYS_vfork: return "vfork";
  case SYS_execve: return "execve";
  case SYS_exit: return "exit";
  case SYS_wait4: return "wait4";
  case SYS_kill: return "kill";
  case SYS_restart_syscall: return "restart_syscall";
  case SYS_ppoll: return "ppoll";
  case SYS_exit_group: return "exit_group";
  default: {
    static char b[4][32];
    static int n;
    char *p = b[n++ & 3];
    snprintf(p, 32, "syscall %ld", nr);
    return p;
  }
  }
}

/* ------------------------------------------------------------------ signals as libc installs them */

/* rt_sigreturn trampoline in user space, as libc provides one (x86-64 has no other). */
#if defined(__x86_64__)
__asm__(".text\n.globl oracle_restorer\n.type oracle_restorer,@function\noracle_restorer:\n"
        "  mov $15, %eax\n  syscall\n  hlt\n");
#else
/* i386: a handler without SA_SIGINFO gets the old-style frame and returns through sigreturn */
__asm__(".text\n.globl oracle_restorer\n.type oracle_restorer,@function\noracle_restorer:\n"
        "  mov $173, %eax\n  int $0x80\n  hlt\n"
        ".globl oracle_restorer_old\n.type oracle_restorer_old,@function\noracle_restorer_old:\n"
        "  pop %eax\n  mov $119, %eax\n  int $0x80\n  hlt\n");
void oracle_restorer_old(void);
#endif
void oracle_restorer(void);

struct ksigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint32_t mask[2];
};

/* rt_sigaction through the raw syscall (glibc would add SA_RESTORER on its own). */
static long ksigaction(int sig, void *handler, unsigned long flags, uint64_t mask, int with_restorer) {
  struct ksigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.handler = handler;
  sa.flags = flags | (with_restorer ? K_SA_RESTORER : 0);
  sa.restorer = with_restorer ? (void *)oracle_restorer : NULL;
#if defined(__i386__)
  if (with_restorer && !(flags & SA_SIGINFO)) sa.restorer = (void *)oracle_restorer_old;
#endif
  sa.mask[0] = (uint32_t)mask;
  sa.mask[1] = (uint32_t)(mask >> 32);
  return SYS4(SYS_rt_sigaction, sig, &sa, 0, 8);
}

static void handler_as_libc(int sig, void *handler, unsigned long flags) {
  long r = ksigaction(sig, handler, flags, 0, 1);
  if (r != 0) fail("rt_sigaction(%d) returned %ld", sig, r);
}

/* ------------------------------------------------------------------ memory both sides see */

struct shared {
  volatile long long ret;
  volatile int handlers;
  volatile int order[8];
  volatile int norder;
  volatile long long v[64];
  volatile long long child[32];
  volatile long long parent[32];
  volatile char text[256];
};
struct shared *S __attribute__((used));

static void shared_init(void) {
  void *p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("mmap shared: %s", strerror(errno));
  S = p;
  memset(p, 0, sizeof(struct shared));
}

/* "SIGUSR1" etc. (the signals the programs use) */
static const char *signame(int sig) {
  switch (sig) {
  case SIGHUP: return "SIGHUP";
  case SIGINT: return "SIGINT";
  case SIGILL: return "SIGILL";
  case SIGTRAP: return "SIGTRAP";
  case SIGABRT: return "SIGABRT";
  case SIGBUS: return "SIGBUS";
  case SIGKILL: return "SIGKILL";
  case SIGUSR1: return "SIGUSR1";
  case SIGSEGV: return "SIGSEGV";
  case SIGUSR2: return "SIGUSR2";
  case SIGALRM: return "SIGALRM";
  case SIGTERM: return "SIGTERM";
  case SIGCHLD: return "SIGCHLD";
  case SIGCONT: return "SIGCONT";
  case SIGSTOP: return "SIGSTOP";
  default: {
    static char b[4][32];
    static int n;
    char *p = b[n++ & 3];
    snprintf(p, 32, "signal %d", sig);
    return p;
  }
  }
}

/* "EINTR" etc. (the errnos the programs meet) */
static const char *errname(long e) {
  switch (e) {
  case EINTR: return "EINTR";
  case ENOSYS: return "ENOSYS";
  case EFAULT: return "EFAULT";
  case EINVAL: return "EINVAL";
  case K_ERESTARTSYS: return "ERESTARTSYS";
  case K_ERESTARTNOINTR: return "ERESTARTNOINTR";
  case K_ERESTARTNOHAND: return "ERESTARTNOHAND";
  case K_ERESTART_RESTARTBLOCK: return "ERESTART_RESTARTBLOCK";
  default: {
    static char b[4][32];
    static int n;
    char *p = b[n++ & 3];
    snprintf(p, 32, "errno %ld", e);
    return p;
  }
  }
}

/* the usual counting handler */
static void count_handler(int sig) {
  S->handlers++;
  if (S->norder < 8) S->order[S->norder++] = sig;
}

/* ------------------------------------------------------------------ JSON on stdout */

static int j_first[16];
static int j_depth;

static void j_key(const char *k) {
  if (!j_first[j_depth]) fputs(", ", stdout);
  j_first[j_depth] = 0;
  if (k) printf("\"%s\": ", k);
}
static void j_begin(void) {
  j_depth = 0;
  j_first[0] = 1;
  fputs("{", stdout);
}
static void j_end(void) {
  fputs("}\n", stdout);
  fflush(stdout);
}
static void j_open(const char *k) {
  j_key(k);
  fputs("{", stdout);
  j_first[++j_depth] = 1;
}
static void j_openarr(const char *k) {
  j_key(k);
  fputs("[", stdout);
  j_first[++j_depth] = 1;
}
static void j_close(void) {
  fputs("}", stdout);
  j_depth--;
}
static void j_closearr(void) {
  fputs("]", stdout);
  j_depth--;
}
static void j_int(const char *k, long long v) {
  j_key(k);
  printf("%lld", v);
}
static void j_bool(const char *k, int v) {
  j_key(k);
  fputs(v ? "true" : "false", stdout);
}
static void j_str(const char *k, const char *s) {
  j_key(k);
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}
/* the kit writes register values as "0x..." (negative ones as "-0x...") */
static void j_hex(const char *k, long long v) {
  char b[40];
  if (v < 0) snprintf(b, sizeof b, "-0x%llx", -(unsigned long long)v);
  else snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  j_str(k, b);
}
static void j_ureg(const char *k, unsigned long v) {
  j_hex(k, (long long)(long)v);
}

/* handler returns: rt_sigreturn, and on i386 also sigreturn (handlers without SA_SIGINFO) */
static int count(long nr);
static void j_sigreturns(void) {
  j_int("rt_sigreturn", count(SYS_rt_sigreturn));
#ifdef SYS_sigreturn
  j_int("sigreturn", count(SYS_sigreturn));
#endif
}

static void not_comparable(const char *why) {
  j_begin();
  j_str("notComparable", why);
  j_end();
  exit(0);
}

/* ------------------------------------------------------------------ time */

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void sleep_us(long us) {
  struct timespec t = {us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

/* ------------------------------------------------------------------ a task's state */

/* the state letter of /proc/<pid>/stat */
static char proc_state(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return '?';
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return '?';
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : '?';
}

/* Waits until the task sleeps interruptibly (blocked in the syscall it was resumed into). */
static void wait_sleeping(pid_t pid) {
  for (int i = 0; i < 5000; i++) {
    if (proc_state(pid) == 'S') return;
    sleep_us(1000);
  }
  fail("task %d never went to sleep in its syscall (state %c)", (int)pid, proc_state(pid));
}

/* ------------------------------------------------------------------ the tracer */

enum { EV_ENTRY = 1, EV_EXIT, EV_SIGNAL, EV_GROUP_STOP, EV_EXITED, EV_KILLED, EV_ANY };

struct ev {
  int kind;
  int sig;         /* EV_SIGNAL / EV_GROUP_STOP: the signal; EV_KILLED: the fatal signal */
  int code;        /* EV_EXITED: exit status */
  long nr;         /* EV_ENTRY / EV_EXIT: orig syscall number register */
  long rval;       /* EV_EXIT: the return register */
  unsigned long ip;
  struct user_regs_struct regs;
};

/* Entry stops, by syscall number as the tracer left it when resuming. */
static int tr_entries[1024];
/* Signals the tracer let through (signal-delivery stops it resumed with the signal). */
static int tr_delivered[65];
/* Single-step bookkeeping: user instructions run since tr_step_begin(). */
static int tr_stepping;
static int tr_steps;
static int tr_insns = -1;
static int tr_last_entry;
static int tr_verbose;
/* runs in the child before it asks to be traced (untraced set-up work) */
static void (*tr_before_trace)(void);

static int count(long nr) {
  return nr >= 0 && nr < 1024 ? tr_entries[nr] : 0;
}

static void tr_getregs(pid_t pid, struct user_regs_struct *r) {
  if (ptrace(PTRACE_GETREGS, pid, 0, r) != 0) fail("PTRACE_GETREGS: %s", strerror(errno));
}
static void tr_setregs(pid_t pid, struct user_regs_struct *r) {
  if (ptrace(PTRACE_SETREGS, pid, 0, r) != 0) fail("PTRACE_SETREGS: %s", strerror(errno));
}

/* Starts body() in a traced child: PTRACE_TRACEME, a SIGSTOP to itself, then the body,
 * then exit(0). Returns with the child stopped at that SIGSTOP and the options set
 * (TRACESYSGOOD: syscall stops are SIGTRAP|0x80; EXITKILL: it dies with its tracer). */
static pid_t tr_start(void (*body)(void)) {
  pid_t pid = fork();
  if (pid < 0) fail("fork: %s", strerror(errno));
  if (pid == 0) {
    if (tr_before_trace) tr_before_trace();
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(120);
    kill(getpid(), SIGSTOP);
    body();
    rexit(0);
  }
  int st;
  if (waitpid(pid, &st, __WALL) != pid) fail("waitpid: %s", strerror(errno));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 120)
    fail("PTRACE_TRACEME failed: ptrace is not permitted here (a seccomp filter, Yama ptrace_scope 2 without CAP_SYS_PTRACE, or 3)");
  if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) fail("the traced child did not stop at its first SIGSTOP (status 0x%x)", st);
  if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) != 0)
    fail("PTRACE_SETOPTIONS: %s", strerror(errno));
  tr_last_entry = 0;
  return pid;
}

/* Resumes to the next syscall stop (PTRACE_SYSCALL) with sig. An entry stop counts as an
 * entry of the syscall number the tracer leaves there, unless the tracer skips it (-1) or
 * kills the task. */
static void tr_cont_req(pid_t pid, int sig, int req) {
  if (tr_last_entry && sig != SIGKILL) {
    errno = 0;
    long nr = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, regs) + offsetof(struct user_regs_struct,
#if defined(__x86_64__)
                                                                                  orig_rax
#else
                                                                                  orig_eax
#endif
                                                                                  ),
                     0);
    if (errno) fail("PTRACE_PEEKUSER orig_ax: %s", strerror(errno));
    if (nr >= 0 && nr < 1024) tr_entries[nr]++;
  }
  tr_last_entry = 0;
  if (ptrace(req, pid, 0, (void *)(long)sig) != 0) fail("ptrace resume (pid %d, state %c): %s", (int)pid, proc_state(pid), strerror(errno));
}
static void tr_cont(pid_t pid, int sig) {
  tr_cont_req(pid, sig, PTRACE_SYSCALL);
}

/* Counts user instructions from the next return to user mode: sets TF in the saved flags;
 * every instruction then traps (a SIGTRAP the tracer swallows), and the next syscall
 * instruction shows up as its entry stop (TF is cleared there). */
static void tr_step_begin(pid_t pid) {
  struct user_regs_struct r;
  tr_getregs(pid, &r);
  R_FLAGS(r) |= X86_TF;
  tr_setregs(pid, &r);
  tr_stepping = 1;
  tr_steps = 0;
  tr_insns = -1;
}

static struct ev tr_wait(pid_t pid) {
  struct ev e;
  int st;
  memset(&e, 0, sizeof e);
  pid_t w;
  do w = waitpid(pid, &st, __WALL);
  while (w < 0 && errno == EINTR);
  if (w != pid) fail("waitpid: %s", strerror(errno));
  if (WIFEXITED(st)) {
    e.kind = EV_EXITED;
    e.code = WEXITSTATUS(st);
    return e;
  }
  if (WIFSIGNALED(st)) {
    e.kind = EV_KILLED;
    e.sig = WTERMSIG(st);
    return e;
  }
  if (!WIFSTOPPED(st)) fail("unexpected wait status 0x%x", st);
  tr_getregs(pid, &e.regs);
  e.ip = R_IP(e.regs);
  if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
    struct __ptrace_syscall_info info;
    memset(&info, 0, sizeof info);
    if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info) <= 0) fail("PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
    e.nr = (long)R_NR(e.regs);
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
      e.kind = EV_ENTRY;
      e.nr = (long)info.entry.nr;
      tr_last_entry = 1;
      if (tr_stepping) {
        /* the syscall instruction itself is the last user instruction */
        tr_insns = tr_steps + 1;
        tr_stepping = 0;
        R_FLAGS(e.regs) &= ~X86_TF;
        tr_setregs(pid, &e.regs);
      }
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
      e.kind = EV_EXIT;
      e.rval = (long)info.exit.rval;
    } else {
      fail("syscall stop of unknown kind %d", info.op);
    }
    if (tr_verbose) fprintf(stderr, "[%s %s ip=%#lx rval=%ld]\n", e.kind == EV_ENTRY ? "entry" : "exit", sysname(e.nr), e.ip, e.rval);
    return e;
  }
  siginfo_t si;
  if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si) != 0) {
    if (errno != EINVAL) fail("PTRACE_GETSIGINFO: %s", strerror(errno));
    e.kind = EV_GROUP_STOP;
    e.sig = WSTOPSIG(st);
  } else {
    e.kind = EV_SIGNAL;
    e.sig = WSTOPSIG(st);
  }
  if (tr_verbose) fprintf(stderr, "[%s %d ip=%#lx]\n", e.kind == EV_SIGNAL ? "signal" : "group-stop", e.sig, e.ip);
  return e;
}

/* Resumes and handles stops until one of kind (and, for syscall stops, number nr; -1 for
 * any) arrives, and returns it with the task still stopped (or gone). Meanwhile: other
 * syscall stops are resumed; signals are delivered as they came; a group stop (SIGSTOP)
 * is ended by sending SIGCONT; while counting steps, the step SIGTRAPs are swallowed. */
static struct ev tr_until(pid_t pid, int kind, long nr) {
  for (;;) {
    struct ev e = tr_wait(pid);
    if (e.kind == EV_EXITED || e.kind == EV_KILLED) {
      if (kind == EV_EXITED || kind == EV_KILLED || kind == EV_ANY) return e;
      fail("the traced task ended (%s %d) while the tracer waited for a %s stop",
           e.kind == EV_EXITED ? "exit" : "signal", e.kind == EV_EXITED ? e.code : e.sig,
           kind == EV_ENTRY ? "syscall-entry" : kind == EV_EXIT ? "syscall-exit" : "signal");
    }
    if (e.kind == kind && (nr == -1 || ((e.kind == EV_ENTRY || e.kind == EV_EXIT) ? e.nr == nr : e.sig == nr))) return e;
    if (kind == EV_ANY) return e;
    switch (e.kind) {
    case EV_ENTRY:
    case EV_EXIT:
      tr_cont(pid, 0);
      break;
    case EV_SIGNAL:
      if (tr_stepping && e.sig == SIGTRAP) {
        tr_steps++;
        tr_cont(pid, 0);
      } else {
        tr_delivered[e.sig]++;
        tr_cont(pid, e.sig);
      }
      break;
    case EV_GROUP_STOP:
      kill(pid, SIGCONT);
      tr_cont(pid, 0);
      break;
    }
  }
}

/* Resumes the task into syscall nr and waits until it sleeps in it. */
static void tr_run_to_sleep(pid_t pid, long nr) {
  tr_cont(pid, 0);
  tr_until(pid, EV_ENTRY, nr);
  tr_cont(pid, 0);
  wait_sleeping(pid);
}

/* Runs the task to its end; returns the wait status as an event. */
static struct ev tr_finish(pid_t pid) {
  tr_cont(pid, 0);
  return tr_until(pid, EV_EXITED, 0);
}

/* ------------------------------------------------------------------ fill / store registers */

/* oracle_fill_sys_store(nr, seed, out): fills every comparable user register with
 * seed + i * 0x01010101 (i in the kit's order), runs syscall nr (no arguments), and stores
 * every comparable register, as it is right after the syscall instruction, to out[i].
 * x86-64 order: rax rbx rdx rsi rdi rbp r8 r9 r10 r12 r13 r14 r15 (rsp, and rcx/r11 which
 * the syscall instruction clobbers, are not comparable).
 * i386 order: eax ebx ecx edx esi edi ebp. */
#if defined(__x86_64__)
#define NCOMP 13
static const char *const comp_names[NCOMP] = {"rax", "rbx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r12", "r13", "r14", "r15"};
static const int callee_idx[] = {1, 5, 9, 10, 11, 12}; /* rbx rbp r12 r13 r14 r15 */
#define NCALLEE 6
__asm__(".text\n.globl oracle_fill_sys_store\n.type oracle_fill_sys_store,@function\noracle_fill_sys_store:\n"
        "  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  push %rdx\n  push %rdi\n"
        "  lea 0x01010101(%rsi), %rbx\n  lea 0x02020202(%rsi), %rdx\n  lea 0x04040404(%rsi), %rdi\n"
        "  lea 0x05050505(%rsi), %rbp\n  lea 0x06060606(%rsi), %r8\n  lea 0x07070707(%rsi), %r9\n"
        "  lea 0x08080808(%rsi), %r10\n  lea 0x09090909(%rsi), %r12\n  lea 0x0a0a0a0a(%rsi), %r13\n"
        "  lea 0x0b0b0b0b(%rsi), %r14\n  lea 0x0c0c0c0c(%rsi), %r15\n  lea 0x03030303(%rsi), %rsi\n"
        "  mov (%rsp), %rax\n"
        "  syscall\n"
        "  push %r15\n  push %r14\n  push %r13\n  push %r12\n  push %r10\n  push %r9\n  push %r8\n"
        "  push %rbp\n  push %rdi\n  push %rsi\n  push %rdx\n  push %rbx\n  push %rax\n"
        "  mov 112(%rsp), %rax\n"
        "  popq 0(%rax)\n  popq 8(%rax)\n  popq 16(%rax)\n  popq 24(%rax)\n  popq 32(%rax)\n"
        "  popq 40(%rax)\n  popq 48(%rax)\n  popq 56(%rax)\n  popq 64(%rax)\n  popq 72(%rax)\n"
        "  popq 80(%rax)\n  popq 88(%rax)\n  popq 96(%rax)\n"
        "  add $16, %rsp\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n  ret\n");
/* A signal handler that overwrites every register but rsp with seed 0x7700 values, counts
 * its run in S->handlers and returns into the restorer. */
__asm__(".text\n.globl oracle_clobber_handler\n.type oracle_clobber_handler,@function\noracle_clobber_handler:\n"
        "  mov S(%rip), %rax\n  lock incl 8(%rax)\n"
        "  mov $0x7700, %rsi\n"
        "  lea 0x00000000(%rsi), %rax\n  lea 0x01010101(%rsi), %rbx\n  lea 0x02020202(%rsi), %rdx\n"
        "  lea 0x04040404(%rsi), %rdi\n  lea 0x05050505(%rsi), %rbp\n  lea 0x06060606(%rsi), %r8\n"
        "  lea 0x07070707(%rsi), %r9\n  lea 0x08080808(%rsi), %r10\n  lea 0x09090909(%rsi), %r12\n"
        "  lea 0x0a0a0a0a(%rsi), %r13\n  lea 0x0b0b0b0b(%rsi), %r14\n  lea 0x0c0c0c0c(%rsi), %r15\n"
        "  lea 0x0d0d0d0d(%rsi), %rcx\n  lea 0x0e0e0e0e(%rsi), %r11\n  lea 0x03030303(%rsi), %rsi\n"
        "  ret\n");
#else
#define NCOMP 7
static const char *const comp_names[NCOMP] = {"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp"};
static const int callee_idx[] = {1, 4, 5, 6}; /* ebx esi edi ebp */
#define NCALLEE 4
/* i386: out is long long[7]; each register is stored zero-extended */
__asm__(".text\n.globl oracle_fill_sys_store\n.type oracle_fill_sys_store,@function\noracle_fill_sys_store:\n"
        "  push %ebx\n  push %esi\n  push %edi\n  push %ebp\n"
        "  mov 24(%esp), %eax\n"
        "  lea 0x01010101(%eax), %ebx\n  lea 0x02020202(%eax), %ecx\n  lea 0x03030303(%eax), %edx\n"
        "  lea 0x04040404(%eax), %esi\n  lea 0x05050505(%eax), %edi\n  lea 0x06060606(%eax), %ebp\n"
        "  mov 20(%esp), %eax\n"
        "  int $0x80\n"
        "  push %ebp\n  push %edi\n  push %esi\n  push %edx\n  push %ecx\n  push %ebx\n  push %eax\n"
        "  mov 56(%esp), %eax\n"
        "  popl 0(%eax)\n  movl $0, 4(%eax)\n  popl 8(%eax)\n  movl $0, 12(%eax)\n  popl 16(%eax)\n  movl $0, 20(%eax)\n"
        "  popl 24(%eax)\n  movl $0, 28(%eax)\n  popl 32(%eax)\n  movl $0, 36(%eax)\n  popl 40(%eax)\n  movl $0, 44(%eax)\n"
        "  popl 48(%eax)\n  movl $0, 52(%eax)\n"
        "  pop %ebp\n  pop %edi\n  pop %esi\n  pop %ebx\n  ret\n");
__asm__(".text\n.globl oracle_clobber_handler\n.type oracle_clobber_handler,@function\noracle_clobber_handler:\n"
        "  mov S, %eax\n  lock incl 8(%eax)\n"
        "  mov $0x7700, %esi\n"
        "  lea 0x00000000(%esi), %eax\n  lea 0x01010101(%esi), %ebx\n  lea 0x02020202(%esi), %ecx\n"
        "  lea 0x03030303(%esi), %edx\n  lea 0x05050505(%esi), %edi\n  lea 0x06060606(%esi), %ebp\n"
        "  lea 0x04040404(%esi), %esi\n"
        "  ret\n");
#endif
void oracle_fill_sys_store(long nr, long seed, long long *out);
void oracle_clobber_handler(int sig);

/* the value fillRegs(seed) puts in comparable register i, as the register holds it */
static long long fill_value(long seed, int i) {
  return (long long)(unsigned long)(seed + (long)i * 0x01010101L);
}

#endif
