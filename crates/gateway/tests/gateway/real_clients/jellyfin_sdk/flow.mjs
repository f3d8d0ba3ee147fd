// Jellyfin's official TypeScript SDK, unchanged, as an application uses it: discovery of the
// server, sign-in, the user's views, a library's items paged, a search, latest and resume
// items, then a played mark and a re-read that must show it. Prints every answer as one JSON
// document, for the test to compare directly and through cachearr.
//
// Usage: node flow.mjs SDK_PACKAGE BASE_URL USER PASSWORD
// (SDK_PACKAGE: `sdk-1` for @jellyfin/sdk 1.0.0, `sdk-0-13` for 0.13.0, as installed by
// scripts/setup-test-env beside this file.)

const [sdkPackage, baseUrl, user, password] = process.argv.slice(2);
const here = new URL('.', import.meta.url);
const root = new URL(`node_modules/${sdkPackage}/lib/`, here);
const { Jellyfin } = await import(new URL('index.js', root));
const apis = await import(new URL('utils/api/index.js', root));

const jellyfin = new Jellyfin({
  clientInfo: { name: 'cachearr-sdk-flow', version: '1.0.0' },
  deviceInfo: { name: 'cachearr-test', id: 'cachearr-sdk-flow' },
});

const out = {};
// Discovery: the SDK asks /System/Info/Public and judges the server by its answer.
const candidates = await jellyfin.discovery.getRecommendedServerCandidates(baseUrl);
const best = jellyfin.discovery.findBestServer(candidates);
if (!best) {
  throw new Error(`discovery found no usable server: ${JSON.stringify(candidates)}`);
}
out.discovery = {
  version: best.systemInfo?.Version,
  product: best.systemInfo?.ProductName,
  issues: (best.issues ?? []).map((issue) => issue.constructor.name),
};

const api = jellyfin.createApi(best.address);
const auth = await api.authenticateUserByName(user, password);
const me = auth.data.User;
out.user = { name: me.Name, id: me.Id, admin: me.Policy?.IsAdministrator };
const userId = me.Id;

// 1.0.0 regrouped the generated APIs (items, latest, resume and single items under
// `LibraryApi`, played marks under `UserDataApi`); 0.13.0 has them as 10.11 named them.
const viewsApi = (apis.getUserViewsApi ?? apis.getUserViewApi)(api);
const items = (apis.getItemsApi ?? apis.getLibraryApi)(api);
const library = (apis.getUserLibraryApi ?? apis.getLibraryApi)(api);
const resumeApi = (apis.getItemsApi ?? apis.getLibraryApi)(api);
const playState = (apis.getPlaystateApi ?? apis.getUserDataApi)(api);

const views = await viewsApi.getUserViews({ userId });
out.views = views.data.Items.map((v) => [v.Id, v.Name, v.CollectionType, v.Etag]);

out.pages = [];
for (const view of views.data.Items) {
  for (const startIndex of [0, 20]) {
    const page = await items.getItems({
      userId,
      parentId: view.Id,
      recursive: true,
      sortBy: ['SortName'],
      startIndex,
      limit: 20,
      fields: ['Path', 'Genres', 'Etag'],
    });
    out.pages.push({
      view: view.Name,
      startIndex,
      total: page.data.TotalRecordCount,
      items: page.data.Items.map((i) => [i.Id, i.Name, i.Type, i.Path, i.Etag]),
    });
  }
}

const search = await items.getItems({ userId, searchTerm: 'a', recursive: true, limit: 10 });
out.search = search.data.Items.map((i) => [i.Id, i.Name, i.Type]);
const hints = await apis.getSearchApi(api).getSearchHints({ searchTerm: 'the', limit: 10 });
out.hints = hints.data.SearchHints.map((h) => [h.Id, h.Name, h.Type]);

const latest = await library.getLatestMedia({ userId, limit: 10 });
out.latest = latest.data.map((i) => [i.Id, i.Name]);
const resume = await resumeApi.getResumeItems({ userId, limit: 10 });
out.resume = resume.data.Items.map((i) => [i.Id, i.Name]);

// A played mark, then the item re-read: it must show it at once.
const film = await items.getItems({
  userId,
  includeItemTypes: ['Movie'],
  isPlayed: false,
  recursive: true,
  sortBy: ['SortName'],
  limit: 1,
});
const filmId = film.data.Items[0].Id;
const before = await library.getItem({ userId, itemId: filmId });
out.before = before.data.UserData?.Played;
const marked = await playState.markPlayedItem({ userId, itemId: filmId });
out.marked = marked.data.Played;
const after = await library.getItem({ userId, itemId: filmId });
out.after = after.data.UserData?.Played;

process.stdout.write(JSON.stringify(out));
