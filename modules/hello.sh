#!/bin/sh
# A script for the `#!` interpreter module: after `modload /modules/shebang.lkm`,
# `/modules/hello.sh` runs as `/bin/sh /modules/hello.sh`; without the module,
# exec of this file fails with ENOEXEC ("Exec format error").
echo from-a-script
