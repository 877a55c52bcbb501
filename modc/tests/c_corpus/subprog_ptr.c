// expect: 42
// Static subprograms taking pointers to the caller's stack.
#include <warden.h>
MODULE(subprog_ptr, misc);

struct pair {
	__u64 a, b;
};

static __noinline void fill(struct pair *p, __u64 base)
{
	p->a = base;
	p->b = base * 2;
}

static __noinline __u64 total(const struct pair *p)
{
	return p->a + p->b;
}

SEC("misc/load") long load(struct load_ctx *ctx)
{
	struct pair p;
	fill(&p, 14);
	return total(&p);
}
