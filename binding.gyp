{
  "targets": [
    {
      "target_name": "state_scan",
      "sources": ["native/state-scan.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra"]
    }
  ]
}
