// stacky_cpp — C++ threads parked under a namespaced class method and a
// function template, so that stack capture must show demangled names.
//
//   stacky_cpp [--threads N] [--lifetime SECS]
//
// Worker i runs stk::worker -> stk::Parker::park -> stk::descend<int>
// (recursing 3 times) -> stk::Parker::block, which sleeps in nanosleep.
// Prints one JSON line when ready:
//   {"pid":..,"threads":[{"tid":..,"name":"stkpp-0","expect":[
//    "stk::Parker::block","stk::descend<int>","stk::Parker::park",
//    "stk::worker"]},..]}
// expect lists substrings of function names that must appear in that order
// (innermost first).  Exits on SIGTERM, its parent's death or --lifetime.
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace stk {

volatile int sink;
volatile bool never_set;   // keeps block() returning in the compiler's eyes
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
int nready;
std::vector<pid_t> tids;

class Parker {
public:
	explicit Parker(int id) : id_(id) {}
	__attribute__((noinline)) int park();
	__attribute__((noinline)) int block();

private:
	int id_;
};

template <typename T>
__attribute__((noinline)) T descend(Parker *p, T depth)
{
	T r = depth > 0 ? descend<T>(p, depth - 1) : static_cast<T>(p->block());
	sink += static_cast<int>(r);   // work after the call: no tail call
	return r + 1;
}

int Parker::block()
{
	struct timespec ts = { 3600, 0 };
	while (!never_set)
		nanosleep(&ts, nullptr);
	return id_;
}

int Parker::park()
{
	int r = descend<int>(this, 3);
	sink += r;
	return r + 1;
}

__attribute__((noinline)) void *worker(void *arg)
{
	int i = static_cast<int>(reinterpret_cast<long>(arg));
	char name[16];
	std::snprintf(name, sizeof(name), "stkpp-%d", i);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&lock);
	tids[i] = static_cast<pid_t>(syscall(SYS_gettid));
	nready++;
	pthread_cond_broadcast(&ready_cv);
	pthread_mutex_unlock(&lock);
	Parker p(i);
	sink += p.park();
	return nullptr;
}

}  // namespace stk

extern "C" void on_term(int) { _exit(0); }

int main(int argc, char **argv)
{
	int n = 3, lifetime = 600;
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
			n = std::atoi(argv[++i]);
		else if (!std::strcmp(argv[i], "--lifetime") && i + 1 < argc)
			lifetime = std::atoi(argv[++i]);
		else {
			std::fprintf(stderr, "usage: stacky_cpp [--threads N] [--lifetime SECS]\n");
			return 2;
		}
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	stk::tids.resize(n);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, nullptr, stk::worker, reinterpret_cast<void *>(i)))
			return 1;
	}
	pthread_mutex_lock(&stk::lock);
	while (stk::nready < n)
		pthread_cond_wait(&stk::ready_cv, &stk::lock);
	pthread_mutex_unlock(&stk::lock);

	std::printf("{\"pid\":%d,\"threads\":[", static_cast<int>(getpid()));
	for (int i = 0; i < n; i++)
		std::printf("%s{\"tid\":%d,\"name\":\"stkpp-%d\",\"expect\":[\"stk::Parker::block\","
			    "\"stk::descend<int>\",\"stk::Parker::park\",\"stk::worker\"]}",
			    i ? "," : "", static_cast<int>(stk::tids[i]), i);
	std::printf("]}\n");
	std::fflush(stdout);
	sleep(static_cast<unsigned>(lifetime));
	return 0;
}
