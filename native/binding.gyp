{
  "targets": [
    {
      "target_name": "au_native",
      "sources": ["au_native.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2"]
    }
  ]
}
