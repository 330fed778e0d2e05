/* The process-wide interrupt: Ctrl-C (SIGINT) or SIGTERM asked the coach to
 * stop. The CLI's signal handler raises it; the planner's loops and the
 * speech synthesis (espeak-ng's callback, every few milliseconds of audio)
 * look at it, so a plan or a clip being made stops within milliseconds
 * with COACH_EINTR instead of running to its end first. Nothing clears it
 * but the tests: once asked, the process is on its way out. */
#ifndef COACH_INTERRUPT_H
#define COACH_INTERRUPT_H

/* Records sig (the first one wins). Async-signal-safe: a lock-free atomic
 * store, nothing else. */
void coach_interrupt_raise(int sig);
/* The signal that asked for the interrupt, or 0. Any thread. */
int coach_interrupted(void);
/* Forgets it (tests only). */
void coach_interrupt_reset(void);

#endif
