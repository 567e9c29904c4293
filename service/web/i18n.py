"""Every visible string of the review pages, in Vietnamese and English, and how a request picks its language.

language    `?lang=vi|en` on the request, else the `lang` cookie (set by the language switch), else the
            browser's Accept-Language, else Vietnamese
strings     MESSAGES: key → (Vietnamese, English); templates call t("key", name=value) and never hold text
            themselves (tests/web/test_i18n.py checks both)
numbers     1.234.567,5 in Vietnamese, 1,234,567.5 in English; times in the office's time zone
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_LANG", "LANGS", "MESSAGES", "Translator", "negotiate"]

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"

MESSAGES: dict[str, tuple[str, str]] = {
    # Site
    "site.name": ("Rà soát hộ nghèo", "Household review"),
    "site.skip": ("Bỏ qua, đến nội dung chính", "Skip to the main content"),
    "nav.home": ("Trang đầu", "Home"),
    "nav.queue": ("Danh sách hộ", "Households"),
    "nav.summary": ("Tổng hợp", "Summary"),
    "nav.progress": ("Tiến độ", "Progress"),
    "nav.signed_in_as": ("Đang đăng nhập: {name}", "Signed in as {name}"),
    "nav.sign_out": ("Đăng xuất", "Sign out"),
    "nav.other_language": ("English", "Tiếng Việt"),
    "nav.main": ("Điều hướng chính", "Main navigation"),
    # Sign-in
    "signin.title": ("Đăng nhập", "Sign in"),
    "signin.intro": (
        "Dành cho cán bộ xã, huyện rà soát hộ nghèo, hộ cận nghèo.",
        "For commune and district staff reviewing poor and near-poor households.",
    ),
    "signin.email": ("Thư điện tử", "Email"),
    "signin.password": ("Mật khẩu", "Password"),
    "signin.submit": ("Đăng nhập", "Sign in"),
    "signin.failed": ("Sai thư điện tử hoặc mật khẩu.", "Wrong email or password."),
    "signin.throttled": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
        "Too many failed sign-ins. Please try again in {minutes} minutes.",
    ),
    "signin.signed_out": ("Bạn đã đăng xuất.", "You have signed out."),
    "signin.needed": ("Vui lòng đăng nhập để tiếp tục.", "Please sign in to continue."),
    # Home
    "home.title": ("Các biểu mẫu rà soát", "Review forms"),
    "home.none": (
        "Bạn chưa được phân công rà soát dự án nào. Liên hệ quản trị viên.",
        "You have not been given any project to review. Ask an administrator.",
    ),
    "home.no_forms": ("Dự án chưa có biểu mẫu.", "The project has no forms yet."),
    # States
    "state.all": ("Tất cả", "All"),
    "state.received": ("Chưa duyệt", "Not reviewed"),
    "state.hasIssues": ("Có vấn đề", "Has issues"),
    "state.edited": ("Đã sửa", "Edited"),
    "state.approved": ("Đã duyệt", "Approved"),
    "state.rejected": ("Từ chối", "Rejected"),
    # Queue
    "queue.title": ("Danh sách chờ duyệt", "Review queue"),
    "queue.filters": ("Bộ lọc", "Filters"),
    "queue.form": ("Biểu mẫu", "Form"),
    "queue.state": ("Trạng thái", "State"),
    "queue.district": ("Huyện/thị xã/thành phố", "District"),
    "queue.commune": ("Xã/phường/thị trấn", "Commune"),
    "queue.any_area": ("Tất cả", "All"),
    "queue.since": ("Từ ngày", "From"),
    "queue.until": ("Đến ngày", "To"),
    "queue.submitter": ("Rà soát viên", "Enumerator"),
    "queue.anyone": ("Tất cả", "Everyone"),
    "queue.apply": ("Lọc", "Apply"),
    "queue.clear": ("Bỏ lọc", "Clear"),
    "queue.counts": ("Số hộ theo trạng thái", "Households by state"),
    "queue.matching": ("{n} hộ khớp bộ lọc, cũ nhất trước", "{n} households match, oldest first"),
    "queue.empty": ("Không có hộ nào khớp bộ lọc.", "No household matches the filter."),
    "queue.more": ("Xem thêm", "More"),
    "queue.photos": ("{present}/{expected} ảnh", "{present}/{expected} photos"),
    "queue.submitted": ("Gửi lúc {at}", "Sent {at}"),
    "queue.by": ("bởi {name}", "by {name}"),
    "queue.select": ("Chọn hộ {title}", "Select household {title}"),
    "queue.list": ("Các hộ", "Households"),
    "queue.stage": ("Bước xét duyệt", "Review stage"),
    "queue.sort": ("Sắp xếp", "Order"),
    "queue.sort_oldest": ("Cũ nhất trước", "Oldest first"),
    "queue.sort_risk": ("Rủi ro cao nhất trước", "Riskiest first"),
    "queue.matching_risk": (
        "{n} hộ khớp bộ lọc, rủi ro cao nhất trước (hộ chưa kiểm tra ảnh ở cuối)",
        "{n} households match, riskiest first (households not checked yet last)",
    ),
    "queue.risk": ("Rủi ro {score}", "Risk {score}"),
    "queue.risk_detail": (
        "Điểm rủi ro {score}/100: {risk} dấu hiệu rủi ro, {warn} cảnh báo",
        "Risk score {score}/100: {risk} risk signs, {warn} warnings",
    ),
    # Bulk
    "bulk.title": ("Duyệt hàng loạt", "Bulk decision"),
    "bulk.which": ("Áp dụng cho", "Apply to"),
    "bulk.selected": ("Các hộ đã chọn trên trang này", "The households selected on this page"),
    "bulk.filter": (
        "Tất cả {n} hộ khớp bộ lọc (tối đa {max})",
        "All {n} households matching the filter (at most {max})",
    ),
    "bulk.select_all": ("Chọn tất cả trên trang", "Select all on this page"),
    "bulk.decision": ("Quyết định", "Decision"),
    "bulk.submit": ("Áp dụng", "Apply"),
    "bulk.done": ("Đã chuyển {n} hộ sang “{state}”.", "{n} households moved to “{state}”."),
    "bulk.batch": ("Mã lô: {id}", "Batch: {id}"),
    "bulk.undo": ("Hoàn tác lô này", "Undo this batch"),
    "bulk.undone": (
        "Đã hoàn tác: {restored} hộ trở lại trạng thái trước; {kept} hộ giữ quyết định mới hơn.",
        "Undone: {restored} households are back as they were; {kept} keep a later decision.",
    ),
    "bulk.none_selected": ("Chưa chọn hộ nào.", "No household was selected."),
    # Household
    "household.back": ("← Danh sách", "← Queue"),
    "household.next": ("Hộ tiếp theo →", "Next household →"),
    "household.last": ("Đây là hộ cuối cùng của danh sách.", "This is the last household in the queue."),
    "household.photos": ("Ảnh", "Photos"),
    "household.no_photos": ("Hộ này không có ảnh.", "This household has no photos."),
    "household.photos_missing": ("{n} ảnh chưa tải lên xong.", "{n} photos have not finished uploading."),
    "household.enlarge": ("Phóng to: {label}", "Enlarge: {label}"),
    "household.close": ("Đóng", "Close"),
    "household.location": ("Vị trí", "Location"),
    "household.no_location": ("Hộ này không có tọa độ GPS.", "This household has no GPS point."),
    "household.gps": ("Tọa độ nhà: {lat}, {lon}", "House point: {lat}, {lon}"),
    "household.accuracy": ("Độ chính xác ±{m} m", "Accuracy ±{m} m"),
    "household.plot": (
        "Sơ đồ vị trí: điểm nhà ở giữa, vòng tròn độ chính xác, điểm ảnh và thước tỉ lệ {scale}",
        "Location plot: the house point in the middle, its accuracy circle, photo points and a {scale} scale bar",
    ),
    "household.north": ("B", "N"),
    "household.house_point": ("Điểm nhà (GPS)", "House point (GPS)"),
    "household.photo_point": ("Điểm chụp ảnh (EXIF)", "Where a photo was taken (EXIF)"),
    "household.photo_distance": ("{label}: cách {m} m", "{label}: {m} m away"),
    "household.evidence": ("Kiểm tra ảnh", "Photo checks"),
    "household.risk": ("Điểm rủi ro: {score}/100", "Risk score: {score}/100"),
    "household.original": ("Ảnh gốc", "Original photo"),
    "household.risk_score": ("Điểm rủi ro", "Risk score"),
    "household.classification": ("Phân loại (máy chủ tính)", "Classification (computed by the server)"),
    "household.mismatch": ("khác kết quả sơ bộ trên máy", "differs from the phone's provisional result"),
    # Photo evidence
    "severity.info": ("Thông tin", "Note"),
    "severity.warn": ("Cảnh báo", "Warning"),
    "severity.risk": ("Rủi ro", "Risk"),
    "evidence.pending": (
        "Ảnh đang được kiểm tra; kết quả sẽ có sau ít phút.",
        "The photos are being checked; the results follow in a few minutes.",
    ),
    "evidence.counts": (
        "{risk} rủi ro, {warn} cảnh báo, {info} thông tin",
        "{risk} risks, {warn} warnings, {info} notes",
    ),
    "evidence.checked_at": ("Kiểm tra lúc {at}", "Checked {at}"),
    "evidence.household_checks": ("Về cả hộ", "About the household"),
    "evidence.nothing": ("Không thấy điều gì bất thường.", "Nothing unusual was found."),
    "evidence.shared": ("Hộ có chung ảnh", "Households sharing a photo"),
    "evidence.other": ("Xem hộ kia: {title}", "See the other household: {title}"),
    "evidence.other_hidden": ("Hộ kia ở ngoài địa bàn của bạn.", "The other household is outside your areas."),
    # Legal stages (Decision 24/2021/QĐ-TTg)
    "stage.surveyed": ("Đã rà soát", "Surveyed"),
    "stage.meeting": ("Đã họp thôn", "Village meeting held"),
    "stage.re_review": ("Rà soát lại", "To be reviewed again"),
    "stage.posted": ("Đã niêm yết", "Posted publicly"),
    "stage.recognised": ("Xã đã công nhận", "Recognised by the commune"),
    "stage.title": ("Các bước xét duyệt", "Review stages"),
    "stage.current": ("Bước hiện tại", "Current stage"),
    "stage.since": ("từ {at}", "since {at}"),
    "stage.final_classification": ("Phân loại cuối cùng", "Final classification"),
    "stage.final": (
        "Xã đã công nhận: kết quả là cuối cùng của đợt rà soát này.",
        "Recognised by the commune: the result is final for this round.",
    ),
    "stage.history": ("Các bước đã ghi", "Steps recorded"),
    "stage.no_history": ("Chưa có bước nào sau khi rà soát.", "No step since the survey."),
    "stage.meeting_facts": (
        "Họp ngày {date}: {percent} % đồng ý",
        "Meeting on {date}: {percent} % agreed",
    ),
    "stage.attendees": ("{n} người dự", "{n} attended"),
    "stage.posting_facts": ("Niêm yết từ {start} đến {end}", "Posted from {start} to {end}"),
    "stage.complaints": ("{n} khiếu nại", "{n} complaints"),
    "stage.decision_facts": ("Quyết định số {number} ngày {date}", "Decision {number} of {date}"),
    "stage.in_batch": ("ghi cho nhiều hộ cùng lúc", "recorded for many households at once"),
    "stage.step_meeting": ("Ghi kết quả họp thôn", "Record the village meeting"),
    "stage.step_posted": ("Ghi việc niêm yết công khai", "Record the public posting"),
    "stage.step_recognised": ("Ghi quyết định công nhận của xã", "Record the commune's recognition"),
    "stage.step_re_review": ("Trả lại để rà soát lại", "Send back for another review"),
    "stage.step_surveyed": ("Đã rà soát lại, không có gì thay đổi", "Reviewed again, nothing to change"),
    "stage.meeting_date": ("Ngày họp", "Meeting date"),
    "stage.agreement": ("Tỉ lệ đồng ý (%)", "Agreement (%)"),
    "stage.meeting_rule": (
        "Dưới 50 % đồng ý thì hộ được rà soát lại.",
        "Under 50 % agreement the household is reviewed again.",
    ),
    "stage.attendees_label": ("Số người dự họp", "Attendees"),
    "stage.posted_from": ("Niêm yết từ ngày", "Posted from"),
    "stage.posted_until": ("Đến ngày", "Until"),
    "stage.complaints_label": ("Số khiếu nại", "Complaints received"),
    "stage.note_if_complaints": ("Ghi chú (bắt buộc khi có khiếu nại)", "Note (needed when there were complaints)"),
    "stage.decision_number": ("Số quyết định", "Decision number"),
    "stage.decision_date": ("Ngày quyết định", "Decision date"),
    "stage.why": ("Lý do (bắt buộc)", "Why (needed)"),
    "stage.note": ("Ghi chú", "Note"),
    "stage.submit": ("Ghi", "Record"),
    "stage.managers_only": (
        "Chỉ cán bộ quản lý ghi quyết định công nhận của xã.",
        "Only managers record the commune's recognition.",
    ),
    "stage.recorded": ("Đã ghi. Hộ hiện ở bước “{stage}”.", "Recorded. The household is now at “{stage}”."),
    "stage.bulk_done": ("Đã ghi bước cho {n} hộ.", "Step recorded for {n} households."),
    "stage.bulk_title": ("Ghi bước xét duyệt cho các hộ đã chọn", "Record a review step for the selected households"),
    "stage.bulk_hint": (
        "Cho các hộ đã chọn trên trang này: ghi cho tất cả, hoặc không hộ nào nếu có hộ chưa thể.",
        "For the households selected on this page: all of them, or none when one of them cannot take the step.",
    ),
    "stage.bulk_step": ("Bước", "Step"),
    "stage.bulk_submit": ("Ghi cho các hộ đã chọn", "Record for the selected households"),
    "stage.refused_final": (
        "Hộ đã được xã công nhận: kết quả là cuối cùng của đợt này, không ghi thêm bước nào.",
        "The commune has recognised this household: its result is final for this round.",
    ),
    "stage.refused_wrong_stage": (
        "Hộ đang ở bước “{stage}”, nên chưa thể ghi bước này.",
        "The household is at “{stage}”, so this step cannot be recorded yet.",
    ),
    "stage.refused_before_meeting": (
        "Ngày bắt đầu niêm yết phải từ ngày họp thôn ({date}) trở đi.",
        "The posting must start on or after the village meeting ({date}).",
    ),
    "stage.refused_not_approved": (
        "Cần duyệt bằng chứng của hộ (“Đã duyệt”) trước khi ghi quyết định công nhận.",
        "The household's evidence must be approved before the commune's recognition is recorded.",
    ),
    "stage.refused_before_posting": (
        "Ngày quyết định phải từ ngày kết thúc niêm yết ({date}) trở đi.",
        "The decision must be dated on or after the posting ended ({date}).",
    ),
    "stage.refused_more": ("(Và {n} hộ khác cũng chưa thể.)", "(And {n} more households cannot either.)"),
    # Exit plan
    "plan.title": ("Kế hoạch thoát nghèo", "Exit plan"),
    "plan.owner": ("Người phụ trách", "Answers for it"),
    "plan.agency": ("Cơ quan đỡ đầu", "Sponsoring agency"),
    "plan.pathway": ("Hướng thoát nghèo", "Pathway"),
    "plan.target_year": ("Năm dự kiến thoát nghèo", "Target exit year"),
    "plan.total": ("Tổng kinh phí", "Total funding"),
    "plan.actions": ("Hoạt động hỗ trợ", "Support actions"),
    "plan.no_actions": ("Chưa có hoạt động nào.", "No action yet."),
    "plan.due": ("Hạn {date}", "Due {date}"),
    "plan.no_date": ("Chưa có hạn", "No due date"),
    "plan.done": ("Đã xong {date}", "Done {date}"),
    "plan.overdue": ("Quá hạn", "Overdue"),
    "plan.overdue_count": ("{n} hoạt động quá hạn", "{n} actions overdue"),
    "plan.responsible": ("Thực hiện: {name}", "Carried out by {name}"),
    "plan.visits": ("Các lần thăm hộ", "Follow-up visits"),
    "plan.no_visits": ("Chưa có lần thăm nào.", "No visit yet."),
    "plan.gaps": ("Kế hoạch còn thiếu", "What the plan still lacks"),
    "plan_gap.no_owner": ("Chưa có người hoặc cơ quan phụ trách", "Nobody answers for it"),
    "plan_gap.no_actions": ("Chưa có hoạt động nào", "No actions"),
    "plan_gap.action_without_date": ("Có hoạt động chưa có hạn", "An action has no due date"),
    "plan_gap.action_without_responsible": (
        "Có hoạt động chưa rõ ai thực hiện",
        "An action has nobody carrying it out",
    ),
    "support.credit": ("Vay vốn ưu đãi", "Preferential credit"),
    "support.livelihood": ("Hỗ trợ sinh kế", "Livelihood support"),
    "support.training": ("Đào tạo nghề", "Vocational training"),
    "support.job_placement": ("Giới thiệu việc làm", "Job placement"),
    "support.labour_export": ("Đi làm việc ở nước ngoài", "Work abroad"),
    "support.housing": ("Hỗ trợ nhà ở", "Housing support"),
    "support.water_sanitation": ("Nước sạch, vệ sinh", "Water and sanitation"),
    "support.health_insurance": ("Bảo hiểm y tế", "Health insurance"),
    "support.education": ("Hỗ trợ giáo dục", "Education support"),
    "support.information": ("Tiếp cận thông tin", "Access to information"),
    "support.social_assistance": ("Trợ giúp xã hội", "Social assistance"),
    "support.other": ("Hỗ trợ khác", "Other support"),
    "pathway.livestock": ("Chăn nuôi", "Livestock"),
    "pathway.crops_forest": ("Trồng trọt, trồng rừng", "Crops and forestry"),
    "pathway.wage_work": ("Làm công, làm thuê", "Wage work"),
    "pathway.trade_service": ("Buôn bán, dịch vụ", "Trade and services"),
    "pathway.labour_export": ("Đi làm việc ở nước ngoài", "Work abroad"),
    "pathway.social_protection": ("Bảo trợ xã hội", "Social protection"),
    "pathway.other": ("Hướng khác", "Other"),
    "progress.on_track": ("Đúng tiến độ", "On track"),
    "progress.behind": ("Chậm tiến độ", "Behind"),
    "progress.at_risk": ("Có nguy cơ không đạt", "At risk"),
    "household.key_answers": ("Thông tin chính", "Key answers"),
    "household.all_answers": ("Tất cả câu trả lời", "All answers"),
    "household.calculated": ("Giá trị tự tính của biểu mẫu", "Values the form calculates"),
    "household.changes": ("Thay đổi so với bản trước", "Changes from the previous version"),
    "household.comments": ("Trao đổi", "Comments"),
    "household.no_comments": ("Chưa có trao đổi.", "No comments yet."),
    "household.comment": ("Viết trao đổi", "Write a comment"),
    "household.comment_submit": ("Gửi", "Send"),
    "household.comment_added": ("Đã gửi trao đổi.", "Comment sent."),
    "household.decision": ("Quyết định", "Decision"),
    "household.reason": ("Lý do (bắt buộc khi có vấn đề hoặc từ chối)", "Reason (needed to flag or reject)"),
    "household.no_reason": ("— Chọn lý do —", "— Choose a reason —"),
    "household.note": ("Ghi chú", "Note"),
    "household.approve": ("Duyệt", "Approve"),
    "household.flag": ("Có vấn đề", "Flag an issue"),
    "household.reject": ("Từ chối", "Reject"),
    "household.decided": ("Đã ghi quyết định “{state}” cho hộ {title}.", "Recorded “{state}” for household {title}."),
    "household.viewer": ("Bạn chỉ được xem, không được quyết định.", "You may read this household but not decide."),
    "household.sent": ("Gửi lúc", "Sent"),
    "household.by": ("Người gửi", "Sent by"),
    "household.area": ("Địa bàn", "Area"),
    "household.updated": ("Sửa lúc", "Edited"),
    "household.reviewed": ("Duyệt lúc", "Reviewed"),
    "household.state": ("Trạng thái", "State"),
    "household.none": ("(trống)", "(empty)"),
    # Key answers of the example form that its calculations hold (no label in the form)
    "answer.members": ("Thành viên hộ", "Household members"),
    "answer.member": ("{name} ({relation}, {age} tuổi)", "{name} ({relation}, age {age})"),
    "answer.income_year": ("Tổng thu nhập 12 tháng", "Income, last 12 months"),
    "answer.income_pc": ("Thu nhập bình quân người/tháng", "Income per person per month"),
    "answer.vnd": ("{n} đồng", "{n} VND"),
    "answer.m2": ("{n} m²", "{n} m²"),
    "answer.temp_house": ("Nhà tạm, dột nát", "Temporary or dilapidated house"),
    "answer.classification": ("Phân loại sơ bộ", "Provisional classification"),
    "answer.deprivations": ("{n}/12 chỉ số thiếu hụt", "{n}/12 deprivations"),
    "answer.yes": ("Có", "Yes"),
    "answer.no": ("Không", "No"),
    "class.poor": ("Hộ nghèo", "Poor"),
    "class.near_poor": ("Hộ cận nghèo", "Near-poor"),
    "class.average": ("Hộ có mức sống trung bình", "Average living standard"),
    "class.other": ("Không thuộc diện", "Not in scope"),
    "class.unclassified": ("Chưa phân loại được (thiếu thông tin)", "Cannot classify yet (information missing)"),
    "class.screened_out": ("Loại qua nhận dạng nhanh (Phiếu A)", "Screened out by the quick screen (Form A)"),
    # Summary
    "summary.title": ("Tổng hợp theo địa bàn", "Area summary"),
    "summary.intro": (
        "Số hộ trong phạm vi của bạn, theo huyện và xã.",
        "Households within your areas, by district and commune.",
    ),
    "summary.area": ("Địa bàn", "Area"),
    "summary.received": ("Đã nhận", "Received"),
    "summary.approved": ("Đã duyệt", "Approved"),
    "summary.rejected": ("Từ chối", "Rejected"),
    "summary.flagged": ("Có vấn đề", "Flagged"),
    "summary.open": ("Chưa xong", "Still open"),
    "summary.temp_houses": ("Nhà tạm (đã duyệt)", "Temporary houses (approved)"),
    "summary.total": ("Tổng cộng", "Total"),
    "summary.unknown_area": ("(chưa rõ địa bàn)", "(area unknown)"),
    "summary.empty": ("Chưa có hộ nào.", "No households yet."),
    "summary.to_progress": ("Xem tiến độ so với mục tiêu →", "See progress against the targets →"),
    # Progress against the targets
    "progress.title": ("Tiến độ so với mục tiêu", "Progress against the targets"),
    "progress.intro": (
        "Tỷ lệ hộ nghèo, hộ cận nghèo trên tổng số hộ của từng địa bàn trong phạm vi của bạn, kỳ rà soát năm {year}.",
        "Poor and near-poor rates among all households of each area within your areas, review of {year}.",
    ),
    "progress.year": ("Năm rà soát", "Review year"),
    "progress.csv": ("Tải bảng CSV", "Download CSV"),
    "progress.all_districts": ("← Tất cả các huyện", "← All districts"),
    "progress.by_district": ("Tỷ lệ hộ nghèo theo huyện", "Poor rate by district"),
    "progress.by_commune": ("Tỷ lệ hộ nghèo theo xã", "Poor rate by commune"),
    "progress.area": ("Địa bàn", "Area"),
    "progress.households": ("Tổng số hộ", "All households"),
    "progress.surveyed": ("Đã rà soát", "Surveyed"),
    "progress.poor": ("Hộ nghèo", "Poor"),
    "progress.near_poor": ("Hộ cận nghèo", "Near-poor"),
    "progress.unclassified": ("Chưa phân loại", "Not classified"),
    "progress.poor_rate": ("Tỷ lệ hộ nghèo", "Poor rate"),
    "progress.near_poor_rate": ("Tỷ lệ hộ cận nghèo", "Near-poor rate"),
    "progress.target": ("Mục tiêu", "Target"),
    "progress.target_value": ("{rate} (cuối năm {year})", "{rate} (end of {year})"),
    "progress.chart": ("Biểu đồ", "Chart"),
    "progress.bar": ("Tỷ lệ hộ nghèo {rate}, mục tiêu {target}", "Poor rate {rate}, target {target}"),
    "progress.bar_no_target": ("Tỷ lệ hộ nghèo {rate}, chưa có mục tiêu", "Poor rate {rate}, no target"),
    "progress.no_rate": ("chưa tính được", "not known"),
    "progress.no_target": ("chưa có", "none"),
    "progress.no_total": ("chưa có số", "not given"),
    "progress.summed_communes": ("cộng từ các xã", "sum of its communes"),
    "progress.summed_districts": ("cộng từ các huyện", "sum of its districts"),
    "progress.missing_totals": ("{n} địa bàn chưa có số", "{n} areas without a total"),
    "progress.met": ("Đạt", "Met"),
    "progress.not_met": ("Chưa đạt", "Not met"),
    "progress.poor_district": ("Huyện nghèo từ {first} đến {last}", "Poor district from {first} to {last}"),
    "progress.poor_district_since": ("Huyện nghèo từ {first}", "Poor district since {first}"),
    "progress.exit_threshold": ("Ngưỡng ra khỏi danh sách: {rate}", "Exit threshold: {rate}"),
    "progress.exit_unknown": (
        "Ngưỡng ra khỏi danh sách huyện nghèo: chưa xác định (nguồn chưa nêu)",
        "Threshold for leaving the poor-district list: not known (not in the sources)",
    ),
    "progress.changes": ("Biến động so với trước rà soát", "Changes since before the review"),
    "progress.escaped": ("Thoát nghèo", "Escaped poverty"),
    "progress.escaped_near": ("Thoát cận nghèo", "Left near-poverty"),
    "progress.fell_back": ("Tái nghèo", "Fell back into poverty"),
    "progress.newly_poor": ("Nghèo phát sinh", "Newly poor"),
    "progress.newly_near_poor": ("Cận nghèo phát sinh", "Newly near-poor"),
    "progress.houses": ("Nhà tạm, nhà dột nát", "Temporary and dilapidated houses"),
    "progress.eligible": ("Thuộc diện hỗ trợ (quy định 2023)", "Eligible (2023 rule)"),
    "progress.supported": ("Được hỗ trợ", "Supported"),
    "progress.supported_split": ("{new} xây mới, {repair} sửa chữa", "{new} new, {repair} repair"),
    "progress.finished": ("Đã xong", "Finished"),
    "progress.still_standing": ("Còn lại", "Still standing"),
    "progress.houses_note": (
        "“Đã xong” đếm các hộ có hoạt động hỗ trợ nhà ở đã hoàn thành trong phương án thoát nghèo; "
        "chưa có ảnh “sau khi làm nhà” để đối chiếu.",
        "“Finished” counts households whose exit plan has a housing action marked done; "
        "there is no “after” photo to check it against yet.",
    ),
    "progress.class_note": (
        "Phân loại của hộ: kết quả xã công nhận nếu đã có, nếu chưa thì kết quả máy chủ tính; "
        "không dùng kết quả sơ bộ trên điện thoại. Hộ bị từ chối không được tính.",
        "A household's class is the commune's recognised result when there is one, else the server's; "
        "never the phone's provisional result. Rejected households are not counted.",
    ),
    "progress.empty": ("Không có địa bàn nào trong phạm vi của bạn.", "No area within your reach."),
    # Errors
    "error.title": ("Không thực hiện được", "That did not work"),
    "error.400": ("Yêu cầu không hợp lệ.", "The request was not valid."),
    "error.401": ("Vui lòng đăng nhập.", "Please sign in."),
    "error.403": (
        "Bạn không có quyền làm việc này, hoặc biểu mẫu đã hết hạn. Hãy quay lại, tải lại trang rồi thử lại.",
        "You may not do this, or the form has expired. Go back, reload the page and try again.",
    ),
    "error.404": (
        "Không tìm thấy. Có thể địa chỉ sai, hoặc hộ này không thuộc địa bàn của bạn.",
        "Not found. The address may be wrong, or the household is outside your areas.",
    ),
    "error.409": ("Dữ liệu vừa thay đổi. Hãy tải lại trang.", "The data has just changed. Reload the page."),
    "error.413": ("Nội dung gửi lên quá lớn.", "What was sent is too large."),
    "error.429": ("Quá nhiều yêu cầu. Vui lòng thử lại sau.", "Too many requests. Please try again later."),
    "error.500": ("Máy chủ gặp lỗi. Vui lòng thử lại sau.", "The server ran into an error. Please try again later."),
    "error.503": ("Máy chủ đang bận. Vui lòng thử lại sau ít phút.", "The server is busy. Try again in a few minutes."),
    "error.detail": ("Chi tiết: {message}", "Details: {message}"),
    "error.missing_field": (
        "Chưa điền “{field}”. Quay lại, điền rồi gửi lại.",
        "“{field}” is missing. Go back, fill it in and send again.",
    ),
    "error.bad_field": (
        "“{field}” chưa đúng. Quay lại, sửa rồi gửi lại.",
        "“{field}” is not right. Go back, correct it and send again.",
    ),
    "error.back": ("Về trang đầu", "Back to the start"),
    "error.back_to_page": ("Quay lại trang trước", "Back to the page"),
}


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page's language: an explicit ?lang= first, then the cookie, then the browser's preference."""
    for explicit in (query, cookie):
        if explicit in LANGS:
            return explicit
    best, best_q = DEFAULT_LANG, -1.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


class Translator:
    """`t("key", n=3)` in templates; numbers and times the way the reader writes them."""

    def __init__(self, lang: str, zone: ZoneInfo) -> None:
        self.lang = lang if lang in LANGS else DEFAULT_LANG
        self.zone = zone
        self._index = LANGS.index(self.lang)

    def __call__(self, key: str, **values: object) -> str:
        text = MESSAGES[key][self._index]
        return text.format(**values) if values else text

    def number(self, value: float, digits: int = 0) -> str:
        text = f"{value:,.{digits}f}"
        if self.lang == "vi":
            text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return text

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(self.zone)
        return local.strftime("%d/%m/%Y %H:%M") if self.lang == "vi" else local.strftime("%d %b %Y %H:%M")

    def day(self, value: date | None) -> str:
        """A calendar date (a meeting, a decision, a due date): no time, no zone."""
        if value is None:
            return ""
        return value.strftime("%d/%m/%Y") if self.lang == "vi" else value.strftime("%d %b %Y")

    def pick(self, vi: str | None, en: str | None) -> str:
        """A name kept in both languages (areas, reasons): the reader's, else the other."""
        first, second = (vi, en) if self.lang == "vi" else (en, vi)
        return first or second or ""
