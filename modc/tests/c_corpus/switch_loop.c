// expect: 3210
// A switch on a loop counter, as state machines in real programs are.
#include <warden.h>
MODULE(switch_loop, misc);

SEC("misc/load") long load(struct load_ctx *ctx)
{
	long acc = 0;
	for (int i = 0; i < 4; i++) {
		switch (i) {
		case 0:
			acc += 0;
			break;
		case 1:
			acc += 10;
			break;
		case 2:
			acc += 200;
			break;
		default:
			acc += 3000;
		}
	}
	return acc;
}
