#include "studio/router.h"

#include <gtest/gtest.h>

namespace raypipe::studio {
namespace {

using nlohmann::json;

serving::HttpRequest Request(std::string method, std::string target, std::string body = "") {
  serving::HttpRequest request;
  request.method = std::move(method);
  request.target = target;
  request.path = target.substr(0, target.find('?'));
  request.body = std::move(body);
  return request;
}

Router EchoRouter(std::string token = "") {
  Router router(std::move(token));
  EXPECT_TRUE(router.Add({"GET", "/api/things/{name}", "echo", {{"n", "a number"}}, false,
                          [](const ApiRequest& request) -> Result<ApiResponse> {
                            ASSIGN_OR_RETURN(int64_t n, request.QueryInt("n", 7, 0, 100));
                            return ApiResponse{200, {{"name", request.Param("name")}, {"n", n}}};
                          }}).ok());
  EXPECT_TRUE(router.Add({"POST", "/api/things/{name}", "change", {}, true,
                          [](const ApiRequest& request) -> Result<ApiResponse> {
                            ASSIGN_OR_RETURN(json body, request.JsonBody());
                            if (!body.contains("ok")) return NotFoundError("no 'ok' in body");
                            return ApiResponse{201, body};
                          }}).ok());
  return router;
}

TEST(RouterTest, MatchesDecodesAndReadsQuery) {
  Router router = EchoRouter();
  serving::HttpResponse response;
  router.Dispatch(Request("GET", "/api/things/a%20%3Cb%3E?n=42"), response);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(json::parse(response.body), (json{{"name", "a <b>"}, {"n", 42}}));
}

TEST(RouterTest, ErrorsAreJsonWithStatusCodes) {
  Router router = EchoRouter();
  struct Case {
    std::string method, target, body;
    int status;
    std::string code;
  } cases[] = {
      {"GET", "/api/nothing", "", 404, "NotFound"},
      {"DELETE", "/api/things/x", "", 405, "InvalidArgument"},
      {"GET", "/api/things/x?n=abc", "", 400, "InvalidArgument"},
      {"GET", "/api/things/x?n=101", "", 400, "InvalidArgument"},
      {"GET", "/api/things/%zz", "", 400, "InvalidArgument"},
      {"POST", "/api/things/x", "{not json", 400, "InvalidArgument"},
      {"POST", "/api/things/x", "[1]", 400, "InvalidArgument"},
      {"POST", "/api/things/x", "{}", 404, "NotFound"},
  };
  for (const Case& c : cases) {
    serving::HttpResponse response;
    router.Dispatch(Request(c.method, c.target, c.body), response);
    EXPECT_EQ(response.status, c.status) << c.method << " " << c.target;
    json body = json::parse(response.body);
    EXPECT_EQ(body["error"]["code"], c.code) << c.method << " " << c.target;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }
}

TEST(RouterTest, TokenGuardsStateChangingRoutesOnly) {
  Router router = EchoRouter("s3cret");
  serving::HttpResponse read;
  router.Dispatch(Request("GET", "/api/things/x"), read);
  EXPECT_EQ(read.status, 200);

  serving::HttpResponse missing;
  router.Dispatch(Request("POST", "/api/things/x", R"({"ok": 1})"), missing);
  EXPECT_EQ(missing.status, 401);

  serving::HttpRequest wrong = Request("POST", "/api/things/x", R"({"ok": 1})");
  wrong.headers.emplace_back("authorization", "Bearer s3creT");
  serving::HttpResponse denied;
  router.Dispatch(wrong, denied);
  EXPECT_EQ(denied.status, 403);

  serving::HttpRequest right = Request("POST", "/api/things/x", R"({"ok": 1})");
  right.headers.emplace_back("authorization", "Bearer s3cret");
  serving::HttpResponse allowed;
  router.Dispatch(right, allowed);
  EXPECT_EQ(allowed.status, 201);
}

TEST(RouterTest, RejectsBadAndDuplicateRoutes) {
  Router router = EchoRouter();
  auto handler = [](const ApiRequest&) -> Result<ApiResponse> { return ApiResponse{}; };
  EXPECT_EQ(router.Add({"GET", "/api/things/{name}", "", {}, false, handler}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(router.Add({"GET", "/api/x{y", "", {}, false, handler}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(router.Add({"GET", "relative", "", {}, false, handler}).code(),
            StatusCode::kInvalidArgument);
}

TEST(RouterTest, HandlerExceptionBecomes500) {
  Router router;
  ASSERT_TRUE(router.Add({"GET", "/api/boom", "", {}, false,
                          [](const ApiRequest&) -> Result<ApiResponse> {
                            throw std::runtime_error("kaput");
                          }}).ok());
  serving::HttpResponse response;
  router.Dispatch(Request("GET", "/api/boom"), response);
  EXPECT_EQ(response.status, 500);
  EXPECT_NE(response.body.find("kaput"), std::string::npos);
}

TEST(RouterTest, PercentCoding) {
  EXPECT_EQ(*PercentDecode("a%2Fb%20c"), "a/b c");
  EXPECT_FALSE(PercentDecode("a%2").ok());
  EXPECT_FALSE(PercentDecode("%g1").ok());
  EXPECT_EQ(PercentEncode("<script> x/y"), "%3Cscript%3E%20x%2Fy");
}

}  // namespace
}  // namespace raypipe::studio
