// Command grpcapp is a small gRPC service that calls itself and exits: the
// fixture of overlay-gen's grpc integration. tests/test_integrations.py
// builds it with the overlay, runs it and compares its spans with
// expected-trace.toml. Written as a gRPC user would, with nothing for
// tracing: the stock health service (unary Check, server-streaming Watch), a
// client made with grpc.NewClient and one made with grpc.DialContext, each
// with options of its own.
package main; import (_ "overlay-gen.invalid/goroutines"; _og_grpctrace "overlay-gen.invalid/grpctrace"; _ "overlay-gen.invalid/nethttp"; _og_otelrt "overlay-gen.invalid/otelrt"; _og_spans "overlay-gen.invalid/spans")

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	_ "os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// board is the stock health server, which notes every question it is asked.
type board struct {
	*health.Server
}

func (b board) Check(ctx context.Context, req *healthgrpc.HealthCheckRequest) (*healthgrpc.HealthCheckResponse, error) {
	note("check", req.GetService())
	return b.Server.Check(ctx, req)
}

func (b board) Watch(req *healthgrpc.HealthCheckRequest, stream healthgrpc.Health_WatchServer) error {
	note("watch", req.GetService())
	return b.Server.Watch(req, stream)
}

// note stands for what a handler does without its context (an audit log).
//
//dd:span
func note(what, service string) {
_og_span := _og_spans.StartRoot("note", "")
defer _og_spans.End(_og_span, nil)
//line :46:34

	log.Printf("%s %q", what, service)
}

// Interceptors of the program's own, on the server and on both clients.
var served, unary, streams atomic.Int32

func countServed(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	served.Add(1)
	return handler(ctx, req)
}

func countUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	unary.Add(1)
	return invoker(ctx, method, req, reply, cc, opts...)
}

func countStreams(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	streams.Add(1)
	return streamer(ctx, desc, cc, method, opts...)
}

func main() {
defer _og_otelrt.Init()()
//line :68:14

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	statuses := health.NewServer()
	statuses.SetServingStatus("orders", healthgrpc.HealthCheckResponse_SERVING)
	server := grpc.NewServer(grpc.ChainUnaryInterceptor(countServed), _og_grpctrace.ServerHandler(), _og_grpctrace.ActivateUnary(), _og_grpctrace.ActivateStream())
	healthgrpc.RegisterHealthServer(server, board{statuses})
	go server.Serve(ln)

	err = checkAll(context.Background(), ln.Addr().String(), statuses)
	server.GracefulStop()
	if err == nil && (served.Load() != 3 || unary.Load() != 3 || streams.Load() != 1) {
		err = fmt.Errorf("interceptors ran %d, %d, %d times", served.Load(), unary.Load(), streams.Load())
	}
	if err != nil {
		log.Print(err)
		_og_otelrt.Exit(1)
	}
	fmt.Println("all answers right")
}

// checkAll asks the server everything once, over two connections.
//
//dd:span
func checkAll(ctx context.Context, addr string, statuses *health.Server) (_og_res0 error) {
_og_span := _og_spans.StartContext(&ctx, "checkAll", "")
defer _og_spans.End(_og_span, &_og_res0)
//line :94:81

	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(countUnary),
		grpc.WithStreamInterceptor(countStreams),
	_og_grpctrace.WithStatsHandler(), _og_grpctrace.WithParentUnary(), _og_grpctrace.WithParentStream())
	if err != nil {
		return err
	}
	defer conn.Close()
	client := healthgrpc.NewHealthClient(conn)

	resp, err := client.Check(ctx, &healthgrpc.HealthCheckRequest{Service: "orders"})
	if err != nil || resp.GetStatus() != healthgrpc.HealthCheckResponse_SERVING {
		return fmt.Errorf("check orders: %v, %v", resp, err)
	}
	if _, err := client.Check(ctx, &healthgrpc.HealthCheckRequest{Service: "payments"}); status.Code(err) != codes.NotFound {
		return fmt.Errorf("check payments: %v, want NotFound", err)
	}
	if err := watch(ctx, client, statuses); err != nil {
		return err
	}

	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(countUnary),
	}
	old, err := grpc.DialContext(ctx, addr, append(opts[:len(opts):len(opts)], _og_grpctrace.WithStatsHandler(), _og_grpctrace.WithParentUnary(), _og_grpctrace.WithParentStream())...)
	if err != nil {
		return err
	}
	defer old.Close()
	if !serving(healthgrpc.NewHealthClient(old)) {
		return errors.New("the server is not serving")
	}
	return nil
}

// watch follows the status of orders until it changes, then stops.
func watch(ctx context.Context, client healthgrpc.HealthClient, statuses *health.Server) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Watch(ctx, &healthgrpc.HealthCheckRequest{Service: "orders"})
	if err != nil {
		return err
	}
	want := []healthgrpc.HealthCheckResponse_ServingStatus{healthgrpc.HealthCheckResponse_SERVING, healthgrpc.HealthCheckResponse_NOT_SERVING}
	for i, w := range want {
		update, err := stream.Recv()
		if err != nil || update.GetStatus() != w {
			return fmt.Errorf("watch orders: %v, %v, want %v", update, err, w)
		}
		if i == 0 {
			statuses.SetServingStatus("orders", healthgrpc.HealthCheckResponse_NOT_SERVING)
		}
	}
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		return fmt.Errorf("watch orders after cancel: %v", err)
	}
	statuses.SetServingStatus("orders", healthgrpc.HealthCheckResponse_SERVING)
	return nil
}

// serving asks whether the server as a whole is up. It was never given a
// context, so it makes its own.
func serving(client healthgrpc.HealthClient) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client.Check(ctx, &healthgrpc.HealthCheckRequest{})
	return err == nil && resp.GetStatus() == healthgrpc.HealthCheckResponse_SERVING
}
