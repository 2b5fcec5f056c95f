// Package mysqltrace tells the database/sql spans of go-sql-driver/mysql's
// DBs where their database is and what MySQL's errors are: db.namespace,
// server.address and server.port from the DSN (mysql.ParseDSN) or from the
// Config behind the driver's connector, and MySQL's error number as
// db.response.status_code. The spans are database/sql's (overlay-gen's
// database-sql integration); this package only registers, in its init, what
// reads them (dbsql.RegisterDSN, RegisterConnector, RegisterErrorCode).
//
// overlay-gen links it into programs that use the driver; it only exists
// under overlay-gen's overlay.
package mysqltrace

import (
	"database/sql/driver"
	"errors"
	"net"
	"reflect"
	"strconv"

	"github.com/go-sql-driver/mysql"

	"overlay-gen.invalid/dbsql"
)

// driverPackage is where the driver's types are declared.
const driverPackage = "github.com/go-sql-driver/mysql"

func init() {
	dbsql.RegisterDSN(driverPackage, parseDSN)
	dbsql.RegisterConnector(driverPackage, fromConnector)
	dbsql.RegisterErrorCode(driverPackage, errorCode)
}

// parseDSN reads a DSN as the driver does (its defaults filled in:
// 127.0.0.1:3306 when it names no address).
func parseDSN(dsn string) (host string, port int, database string) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", 0, ""
	}
	return locate(cfg)
}

// locate is where cfg's database is: a TCP address's host and port, a Unix
// socket's path, and the database.
func locate(cfg *mysql.Config) (host string, port int, database string) {
	if cfg.Net == "unix" {
		return cfg.Addr, 0, cfg.DBName
	}
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "", 0, cfg.DBName
	}
	if port, err = strconv.Atoi(portText); err != nil {
		port = 0
	}
	return host, port, cfg.DBName
}

// configType is the type of the field in which the driver's connector keeps
// its Config (an unexported field: connector{cfg *Config}, from v1.5.0).
var configType = reflect.TypeOf((*mysql.Config)(nil))

// fromConnector reads the Config of a connector mysql.NewConnector made.
// The field is unexported: it is found by reflection, checked to have the
// Config's type and read through its pointer (the driver never changes the
// Config it keeps); a connector without it gives nothing.
func fromConnector(c driver.Connector) (host string, port int, database string) {
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return "", 0, ""
	}
	field := v.Elem().FieldByName("cfg")
	if !field.IsValid() || field.Type() != configType || field.IsNil() {
		return "", 0, ""
	}
	return locate((*mysql.Config)(field.UnsafePointer()))
}

// errorCode is MySQL's error number, for an error the server answered.
func errorCode(err error) string {
	var answered *mysql.MySQLError
	if errors.As(err, &answered) {
		return strconv.Itoa(int(answered.Number))
	}
	return ""
}
