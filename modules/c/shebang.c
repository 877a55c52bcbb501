// An executable format: runs files starting with `#!` by the interpreter
// named on their first line, with at most one argument
// (modules/shebang.wm in C).
#include <warden.h>

MODULE(shebang, exec);

enum { BEFORE_PATH, IN_PATH, BEFORE_ARG, IN_ARG, DONE };
#define MAX 64

// Volatile: the loop reads the parse state back from the map each round,
// so that every round looks the same to the verifier (as in the .wm).
struct parse {
	volatile __u32 state;
	volatile __u32 path_len;
	volatile __u32 arg_len;
	volatile __u32 arg_keep;
	__u8 path[MAX];
	__u8 arg[MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct parse);
	__uint(max_entries, 1);
} parse SEC(".maps");

static __always_inline int is_blank(__u8 c)
{
	return c == ' ' || c == '\t';
}

SEC("exec/probe") long probe(struct probe_ctx *ctx)
{
	if (ctx->header_len < 2 || ctx->header[0] != '#' || ctx->header[1] != '!')
		return 0;
	__u32 zero = 0;
	struct parse *p = map_lookup(&parse, &zero);
	if (!p)
		return 0;
	p->state = BEFORE_PATH;
	p->path_len = 0;
	p->arg_len = 0;
	p->arg_keep = 0;
	for (__u32 i = 2; i < ctx->header_len && i < sizeof(ctx->header); i++) {
		__u8 c = ctx->header[i];
		if (c == '\n')
			p->state = DONE;
		__u32 s = p->state;
		if (s == BEFORE_PATH && !is_blank(c))
			p->state = IN_PATH;
		else if (s == IN_PATH && is_blank(c))
			p->state = BEFORE_ARG;
		else if (s == BEFORE_ARG && !is_blank(c))
			p->state = IN_ARG;
		if (p->state == IN_PATH) {
			__u32 at = p->path_len;
			if (at < MAX) {
				p->path[at] = c;
				p->path_len = at + 1;
			}
		} else if (p->state == IN_ARG) {
			__u32 at = p->arg_len;
			if (at < MAX) {
				p->arg[at] = c;
				p->arg_len = at + 1;
			}
			if (!is_blank(c))
				p->arg_keep = p->arg_len;
		}
	}
	__u32 path_len = p->path_len;
	if (path_len > MAX)
		path_len = MAX;
	if (path_len == 0)
		return 0;
	emit(p->path, path_len);
	__u32 keep = p->arg_keep;
	if (keep > MAX)
		keep = MAX;
	if (keep > 0) {
		emit("", 1);
		emit(p->arg, keep);
	}
	return 1;
}
