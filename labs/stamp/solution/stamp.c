// Lab 1 reference solution, in C.
#include <warden.h>

MODULE(stamp, misc);

struct stats {
	__u64 ticks;
	__u64 loaded_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct stats);
	__uint(max_entries, 1);
} stats SEC(".maps");

SEC("misc/load") long load(struct load_ctx *ctx)
{
	__u32 zero = 0;
	struct stats *s = map_lookup(&stats, &zero);
	if (s) {
		s->ticks = 0;
		s->loaded_ns = ktime_ns();
	}
	static const char msg[] = "stamp: loaded as module {}";
	log(msg, sizeof(msg) - 1, ctx->module_id, 0);
	return 0;
}

SEC("misc/tick") long tick(struct tick_ctx *ctx)
{
	__u32 zero = 0;
	struct stats *s = map_lookup(&stats, &zero);
	if (s)
		s->ticks += 1;
	return 0;
}

SEC("misc/unload") long unload(struct load_ctx *ctx)
{
	__u32 zero = 0;
	struct stats *s = map_lookup(&stats, &zero);
	if (s) {
		__u64 ms = (ktime_ns() - s->loaded_ns) / 1000000;
		static const char msg[] = "stamp: {} ticks in {} ms";
		log(msg, sizeof(msg) - 1, s->ticks, ms);
	}
	return 0;
}
