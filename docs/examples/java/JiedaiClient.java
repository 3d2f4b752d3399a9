// A whole reception 接待 over the HTTP API of `jiedai serve`, with only the JDK (Java 17+): the same walk
// as the curl block of docs/http.md. Run it while `jiedai serve` runs (it writes jiedai-list.xlsx here):
//
//   export JIEDAI_URL=http://127.0.0.1:8000 TOKEN_ZHANG=jd_… TOKEN_SUN=jd_… TOKEN_LI=jd_… TOKEN_WANG=jd_…
//   javac -encoding UTF-8 -d out JiedaiClient.java && java -cp out JiedaiClient
//
// Tokens: `jiedai token create --actor zhang.wei` (经办人 handler), sun.hao (部门负责人) and li.na (分管领导)
// (the two approval levels), wang.fang (财务 finance). Compiled and run in CI by tests/test_http_java.py.

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.nio.charset.StandardCharsets.UTF_8;

public class JiedaiClient {

    /** A 4xx/5xx answer: the problem+json body (RFC 9457) with the library's stable error code. */
    static class ProblemException extends Exception {
        final int status;
        final String code;
        final String body;

        ProblemException(int status, String body) {
            super("HTTP " + status + " " + field(body, "code"));
            this.status = status;
            this.code = field(body, "code");
            this.body = body;
        }
    }

    // The stock client: on an http:// URL it offers an h2c upgrade, which `jiedai serve` answers over
    // HTTP/1.1 (its default parser, h11, keeps the body). One client, keep-alive, for the whole walk.
    final HttpClient http = HttpClient.newHttpClient();
    final String api; // …/api/v1
    String id; // the reception's id 接待 ID, from the Location header
    String etag; // its version as last seen, e.g. "3": sent back as If-Match

    JiedaiClient(String base) {
        this.api = base + "/api/v1";
    }

    /** 登记 register a reception: 201, the id in Location, the version in ETag. */
    String create(String token, String body) throws Exception {
        HttpResponse<String> res = send(post("/receptions", token, body, UUID.randomUUID().toString()));
        String location = res.headers().firstValue("Location").orElseThrow();
        id = location.substring(location.lastIndexOf('/') + 1);
        etag = res.headers().firstValue("ETag").orElseThrow();
        return field(res.body(), "to_state");
    }

    /** 操作 fire a trigger; returns the state it led to. */
    String fire(String token, String trigger, String body) throws Exception {
        String key = UUID.randomUUID().toString(); // 请求号: one per command, the same on its retry
        String path = "/receptions/" + id + "/triggers/" + trigger;
        HttpResponse<String> res;
        try {
            res = send(post(path, token, body, key).header("If-Match", etag));
        } catch (ProblemException e) {
            // 412: the version changed since we read it; 409 `conflict`: a race lost. Re-read, retry once.
            if (e.status != 412 && !(e.status == 409 && e.code.equals("conflict"))) throw e;
            etag = reread(token);
            System.out.println("  版本已变，重新读取后重试 version changed: retrying with ETag " + etag);
            res = send(post(path, token, body, key).header("If-Match", etag));
        }
        etag = res.headers().firstValue("ETag").orElseThrow();
        return field(res.body(), "to_state");
    }

    HttpRequest.Builder post(String path, String token, String body, String idempotencyKey) {
        return HttpRequest.newBuilder(URI.create(api + path))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", idempotencyKey) // a retry returns the first result
                .POST(HttpRequest.BodyPublishers.ofString(body)); // UTF-8
    }

    /** The reception's current version: its ETag. */
    String reread(String token) throws Exception {
        return send(get("/receptions/" + id, token)).headers().firstValue("ETag").orElseThrow();
    }

    HttpRequest.Builder get(String path, String token) {
        return HttpRequest.newBuilder(URI.create(api + path)).header("Authorization", "Bearer " + token);
    }

    HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        HttpResponse<String> res = http.send(request.build(), HttpResponse.BodyHandlers.ofString()); // UTF-8
        if (res.statusCode() >= 400) throw new ProblemException(res.statusCode(), res.body());
        return res;
    }

    // Not a JSON parser: the first string field called `name`, enough for the flat values read here
    // (to_state of the command's event, code and messages of a problem). Use Jackson or Gson in real code.
    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        return m.find() ? m.group(1) : "";
    }

    static String env(String name) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) throw new IllegalStateException(name + " is not set");
        return value;
    }

    public static void main(String[] args) throws Exception {
        JiedaiClient jd = new JiedaiClient(System.getenv().getOrDefault("JIEDAI_URL", "http://127.0.0.1:8000"));
        String zhang = env("TOKEN_ZHANG"), sun = env("TOKEN_SUN"); // 经办人 handler, 部门负责人
        String li = env("TOKEN_LI"), wang = env("TOKEN_WANG"); // 分管领导, 财务 finance
        LocalDate start = LocalDate.now().plusDays(7); // a two-day visit a week from today
        String end = start.plusDays(1).toString(), issued = start.minusDays(5).toString();
        try {
            System.out.println("登记 create → " + jd.create(zhang, reception(start.toString(), end, issued)));
            System.out.println("  接待 ID id " + jd.id + ", ETag " + jd.etag);
            System.out.println("提交 submit → " + jd.fire(zhang, "submit", "{}"));
            System.out.println("审批 approve (孙浩) → " + jd.fire(sun, "approve", "{\"reason\": \"同意\"}"));
            System.out.println("审批 approve (李娜) → " + jd.fire(li, "approve", "{\"reason\": \"同意\"}"));
            System.out.println("开始接待 start → " + jd.fire(zhang, "start", "{}"));
            System.out.println("接待结束 finish → " + jd.fire(zhang, "finish", "{}"));
            String claim = "{\"reception_list\": " + receptionList(start.toString(), end) + "}";
            System.out.println("报销 claim → " + jd.fire(zhang, "claim", claim));
            System.out.println("结算 settle → " + jd.fire(wang, "settle", "{}"));
            // 接待清单 the filed list as a spreadsheet: bytes, so the status is checked before writing
            HttpResponse<byte[]> xlsx = jd.http.send(jd.get("/receptions/" + jd.id + "/list?format=xlsx", zhang)
                    .build(), HttpResponse.BodyHandlers.ofByteArray());
            if (xlsx.statusCode() != 200) {
                throw new ProblemException(xlsx.statusCode(), new String(xlsx.body(), UTF_8));
            }
            Files.write(Path.of("jiedai-list.xlsx"), xlsx.body());
            System.out.println("接待清单 reception list → jiedai-list.xlsx");
            // 审计链 the audit chain: every event's hash links to the one before
            String verify = jd.send(jd.get("/audit/verify", zhang)).body();
            if (!verify.contains("\"ok\":true")) { // a boolean, not a string: checked as text
                System.err.println("审计链校验失败 audit chain broken: " + verify);
                System.exit(1);
            }
            System.out.println("审计链 audit chain → ok");
        } catch (ProblemException e) {
            // problem+json: code (stable, for programs), message_zh and message_en (for people)
            System.err.println("HTTP " + e.status + " " + e.code + ": " + field(e.body, "message_zh")
                    + " / " + field(e.body, "message_en"));
            if (e.code.isEmpty()) System.err.println(e.body); // not from the service (a proxy's page?)
            System.exit(1);
        }
    }

    // The body has the shape of a `jiedai new` file (jiedai-reception.toml as JSON); dates ISO 8601,
    // amounts as strings.
    static String reception(String start, String end, String issued) {
        return """
            {"reception": {"jurisdiction": "341502", "host_unit": "县政府办公室", "type": "国内公务接待"},
             "letter": {"kind": "公函", "number": "市农函〔2026〕12号", "sending_unit": "市农业农村局",
               "issued_on": "%3$s", "purpose": "考察调研", "content": "高标准农田建设考察调研",
               "contact": "市农业农村局办公室 0550-1234567", "meal_requested": true,
               "itinerary": {"start": "%1$s", "end": "%2$s", "places": ["县农业产业园"], "summary": "实地调研、座谈"},
               "personnel": [
                 {"name": "刘建国", "unit": "市农业农村局", "post": "副局长", "rank": "厅局级/司局级"},
                 {"name": "陈晓华", "unit": "市农业农村局", "post": "科长", "rank": "县处级"},
                 {"name": "周明", "unit": "市农业农村局", "post": "科员", "rank": "乡科级及以下"}]},
             "plan": {"budget": "400.00",
               "meals": [{"on": "%1$s", "kind": "午餐", "venue": "县机关食堂", "venue_type": "机关食堂",
                 "guests": 3, "companions": 2, "cost": "275.00", "dishes": ["家常豆腐", "清炒时蔬", "米饭"]}],
               "activities": [{"on": "%1$s", "place": "县农业产业园", "description": "高标准农田现场调研",
                 "time": "09:00-11:30"}],
               "companions": [{"name": "王强", "post": "县农业农村局局长"}]}}
            """.formatted(start, end, issued);
    }

    // 接待清单 the reception list the claim carries (jiedai-list.toml as JSON).
    static String receptionList(String start, String end) {
        return """
            {"signed_by": "县政府办公室主任 孙浩", "signed_on": "%2$s", "documents": ["发票", "公函", "接待清单"],
             "guests": [
               {"name": "刘建国", "unit": "市农业农村局", "post": "副局长", "rank": "厅局级/司局级"},
               {"name": "陈晓华", "unit": "市农业农村局", "post": "科长", "rank": "县处级"},
               {"name": "周明", "unit": "市农业农村局", "post": "科员", "rank": "乡科级及以下"}],
             "items": [{"on": "%1$s", "item": "高标准农田现场调研", "place": "县农业产业园", "cost": "0.00",
               "time": "09:00-11:30"}],
             "meals": [{"on": "%1$s", "kind": "午餐", "venue": "县机关食堂", "venue_type": "机关食堂",
               "guests": 3, "companions": 2, "cost": "275.00", "dishes": ["家常豆腐", "清炒时蔬", "米饭"]}],
             "invoices": [{"number": "0451207", "issued_on": "%1$s", "issuer": "县机关食堂", "amount": "275.00"}],
             "payments": [{"method": "公务卡", "amount": "275.00", "reference": "公务卡 6222****1234"}],
             "companions": [{"name": "王强", "post": "县农业农村局局长"}],
             "support_staff": [{"name": "张伟", "post": "县政府办公室科员"}]}
            """.formatted(start, end);
    }
}
