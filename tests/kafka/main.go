// Command kafka runs a one-broker Kafka-protocol cluster in memory for the
// tests (tests/kafka.py): franz-go's kfake, which speaks the Kafka wire
// protocol (produce, fetch, consumer groups, offsets) as a broker does, so
// every Kafka client the integrations instrument talks to it unchanged.
//
//	kafka -port 39092 -partitions 1 -topic orders -topic payments
//
// It listens on 127.0.0.1:port, creates the topics named (and any topic a
// client asks for by metadata, with -partitions partitions), prints
// "listening on 127.0.0.1:port" once it accepts connections, and runs
// until it gets SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1")
	partitions := flag.Int("partitions", 1, "partitions of every topic")
	var topics names
	flag.Var(&topics, "topic", "a topic to create at start (repeatable)")
	flag.Parse()
	if *port == 0 {
		fmt.Fprintln(os.Stderr, "kafka: -port is required")
		os.Exit(2)
	}
	opts := []kfake.Opt{
		kfake.Ports(*port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions),
	}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(*partitions), topics...))
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafka:", err)
		os.Exit(1)
	}
	defer cluster.Close()
	fmt.Println("listening on", strings.Join(cluster.ListenAddrs(), ","))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
