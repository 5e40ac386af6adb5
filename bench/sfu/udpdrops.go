package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// udpDrops is the number of datagrams the kernel dropped at pid's UDP
// sockets because their receive buffers were full (the "drops" column of
// /proc/net/udp for the sockets among pid's file descriptors). It tells
// whose sockets lost packets: the server's or the generator's.
func udpDrops(pid int) (uint64, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		n, err := dropsIn(fmt.Sprintf("/proc/%d/net/%s", pid, strings.TrimPrefix(f, "/proc/net/")), inodes)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue
		}
		if in, ok := strings.CutPrefix(l, "socket:["); ok {
			out[strings.TrimSuffix(in, "]")] = true
		}
	}
	return out, nil
}

// dropsIn sums the drops of the listed sockets in one /proc/net/udp
// file: inode is field 10, drops the last field.
func dropsIn(path string, inodes map[string]bool) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total uint64
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 13 || !inodes[fields[9]] {
			continue
		}
		n, err := strconv.ParseUint(fields[len(fields)-1], 10, 64)
		if err == nil {
			total += n
		}
	}
	return total, sc.Err()
}
