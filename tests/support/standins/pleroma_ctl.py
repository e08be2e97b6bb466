#!/usr/bin/python3
# A stand-in for an OTP release's bin/pleroma_ctl (tests only), of upstream's shape: database
# tasks go through `pleroma eval`, the rest through `pleroma rpc` into the running server.
import os
import sys

here = os.path.dirname(os.path.realpath(__file__))
args = sys.argv[1:]
mode = "eval" if args[:1] in (["migrate"], ["rollback"], ["create"]) else "rpc"
code = 'Pleroma.ReleaseTasks.run("{}")'.format(" ".join(args))
os.execv(os.path.join(here, "pleroma"), [os.path.join(here, "pleroma"), mode, code])
