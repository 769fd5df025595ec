/*
 * Paging for 政务公开 lists. Only this script knows the other pages exist: the HTML of a
 * list page links none of them, exactly like the portals a crawler has to cope with.
 */
function createPageHTML(total, current, prefix, ext) {
  if (total <= 1) {
    return;
  }
  function href(n) {
    return n === 0 ? prefix + "." + ext : prefix + "_" + n + "." + ext;
  }
  function link(n, label) {
    return n === current ? "<span>" + label + "</span>" : '<a href="' + href(n) + '">' + label + "</a>";
  }
  var parts = [link(0, "首页")];
  if (current > 0) {
    parts.push(link(current - 1, "上一页"));
  }
  for (var n = 0; n < total; n++) {
    parts.push(link(n, String(n + 1)));
  }
  if (current + 1 < total) {
    parts.push(link(current + 1, "下一页"));
  }
  parts.push(link(total - 1, "尾页"));
  document.write(parts.join(" ") + " 共" + total + "页");
}
