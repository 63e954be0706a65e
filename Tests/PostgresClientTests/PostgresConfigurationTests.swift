import Testing

@testable import PostgresClient

struct PostgresConfigurationTests {
    @Test func parsesAFullURL() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://alice:s3cret@db.example.com:6543/signals?sslmode=require&application_name=worker")
        #expect(configuration.host == "db.example.com")
        #expect(configuration.port == 6543)
        #expect(configuration.user == "alice")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "signals")
        #expect(configuration.sslMode == .require)
        #expect(configuration.applicationName == "worker")
    }

    @Test func appliesDefaults() throws {
        let configuration = try PostgresConfiguration(url: "postgresql://bob@localhost/app")
        #expect(configuration.port == 5432)
        #expect(configuration.password == nil)
        #expect(configuration.connectTimeout == .seconds(5))
        #expect(configuration.applicationName == "signalforge")
        #expect(configuration.sslMode == nil)
    }

    @Test func percentDecodesUserAndPassword() throws {
        let configuration = try PostgresConfiguration(url: "postgres://us%40er:p%40ss%3Aw%2Fo%25rd%20x@127.0.0.1/db")
        #expect(configuration.user == "us@er")
        #expect(configuration.password == "p@ss:w/o%rd x")
        #expect(configuration.host == "127.0.0.1")
    }

    @Test func acceptsAnUnencodedAtSignInThePassword() throws {
        let configuration = try PostgresConfiguration(url: "postgres://u:a@b@host/db")
        #expect(configuration.user == "u")
        #expect(configuration.password == "a@b")
        #expect(configuration.host == "host")
    }

    @Test func parsesAUnixSocketHost() throws {
        let encoded = try PostgresConfiguration(url: "postgres://me@%2Fvar%2Frun%2Fpostgresql/db")
        #expect(encoded.host == "/var/run/postgresql")
        #expect(encoded.database == "db")
        let parameter = try PostgresConfiguration(url: "postgres://me@/db?host=/tmp/pg%20sock&port=5433")
        #expect(parameter.host == "/tmp/pg sock")
        #expect(parameter.port == 5433)
    }

    @Test func parsesIPv6Hosts() throws {
        let configuration = try PostgresConfiguration(url: "postgres://u@[::1]:7000/db")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
    }

    @Test func parsesConnectTimeout() throws {
        let configuration = try PostgresConfiguration(url: "postgres://u@h/db?connect_timeout=12")
        #expect(configuration.connectTimeout == .seconds(12))
    }

    @Test(arguments: [
        "mysql://u@h/db",
        "postgres://u@h:notaport/db",
        "postgres://u@h:70000/db",
        "postgres://u@h/db?sslmode=sometimes",
        "postgres://u@h/db?frobnicate=1",
        "postgres://u:%zz@h/db",
        "postgres://u@[::1/db",
    ])
    func rejectsInvalidURLs(url: String) {
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: url) }
        do {
            _ = try PostgresConfiguration(url: url)
        } catch {
            #expect(error.code == .invalidURL)
        }
    }

    @Test func errorsNeverQuoteThePassword() {
        do {
            _ = try PostgresConfiguration(url: "postgres://u:hunter2@h:99999/db")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(!error.debugDescription.contains("hunter2"))
        }
    }

    @Test func descriptionRedactsThePassword() throws {
        let configuration = try PostgresConfiguration(url: "postgres://u:hunter2@h/db")
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description.contains("***"))
    }

    @Test func connectionParametersAreKeywordValuePairs() throws {
        var configuration = try PostgresConfiguration(url: "postgres://u:p w'd@h:5000/my db?sslmode=disable")
        configuration.serverSettings["search_path"] = "a b,c\\d"
        let parameters = Dictionary(configuration.connectionParameters, uniquingKeysWith: { $1 })
        #expect(parameters["host"] == "h")
        #expect(parameters["port"] == "5000")
        #expect(parameters["user"] == "u")
        #expect(parameters["password"] == "p w'd")
        #expect(parameters["dbname"] == "my db")
        #expect(parameters["sslmode"] == "disable")
        #expect(parameters["connect_timeout"] == "5")
        #expect(parameters["application_name"] == "signalforge")
        #expect(parameters["options"] == "-c TimeZone=UTC -c extra_float_digits=3 -c search_path=a\\ b,c\\\\d")
    }
}
