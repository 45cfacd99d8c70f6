{
  "targets": [
    {
      "target_name": "au_native",
      "sources": ["au_native.c", "acl_walk.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2"]
    }
  ]
}
