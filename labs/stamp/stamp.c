// Lab 1 in C: your first module. See the book, "Lab 1: your first module".
//
// When loaded, log "stamp: loaded as module ID"; count timer ticks while
// loaded; when unloaded, log "stamp: TICKS ticks in MS ms".
// Grade it with: cargo xtask grade stamp --c
#include <warden.h>

MODULE(stamp, misc);

SEC("misc/load") long load(struct load_ctx *ctx)
{
	return 0;
}

SEC("misc/unload") long unload(struct load_ctx *ctx)
{
	return 0;
}
