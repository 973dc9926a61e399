{
  "targets": [
    {
      "target_name": "state_scan",
      "sources": ["native/state-scan.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra"]
    },
    {
      "target_name": "syscalls",
      "sources": ["native/syscalls.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra"]
    }
  ]
}
