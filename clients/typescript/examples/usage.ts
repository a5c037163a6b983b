// How a front-end uses the client (compiled with the client, so it stays true).
import {
  allItems,
  createC2rClient,
  etagOf,
  newIdempotencyKey,
  ok,
  ProblemError,
  type Schemas,
} from "../src/index";

const api = createC2rClient({
  baseUrl: "https://api.example.org",
  token: () => sessionStorage.getItem("c2r-token") ?? undefined,
});

export async function countryNames(): Promise<string[]> {
  const names: string[] = [];
  const pages = allItems((cursor) =>
    api.GET("/v1/countries/beneficiaries", { params: { query: { limit: 100, cursor } } }).then(ok),
  );
  for await (const beneficiary of pages) names.push(beneficiary.country_name);
  return names;
}

export async function scoresOf(assessmentId: string): Promise<Schemas["AssessmentScores"]> {
  return ok(
    await api.GET("/v1/assessments/{assessment_id}/scores", {
      params: { path: { assessment_id: assessmentId } },
    }),
  );
}

export async function retitle(assessmentId: string, title: string): Promise<void> {
  const read = await api.GET("/v1/assessments/{assessment_id}", {
    params: { path: { assessment_id: assessmentId } },
  });
  ok(read);
  try {
    ok(
      await api.PATCH("/v1/assessments/{assessment_id}", {
        params: { path: { assessment_id: assessmentId }, header: { "If-Match": etagOf(read.response) } },
        body: { title },
      }),
    );
  } catch (error) {
    if (error instanceof ProblemError && error.status === 412) return; // changed meanwhile: re-read
    throw error;
  }
}

export async function submitOnce(body: Schemas["AssessmentCreate"]): Promise<string> {
  const key = newIdempotencyKey(); // the same key on a retry: one assessment, not two
  const created = ok(
    await api.POST("/v1/assessments", { params: { header: { "Idempotency-Key": key } }, body }),
  );
  return created.id;
}
