"""Households of the example form (forms/household_poverty_review_2023) as Collect sends them, with photos."""

from __future__ import annotations

from xml.sax.saxutils import escape

from forms.build_xlsx import FORMS_DIR, read_sheets
from tests.support.submission import new_instance_id

__all__ = ["DASH", "EXAMPLE_FORM", "EXAMPLE_VERSION", "PHOTO_FIELDS", "example_household"]

EXAMPLE_FORM = "household_poverty_review_2023"
# The published version (the form's settings sheet), so a version bump of the form does not orphan these households.
EXAMPLE_VERSION = dict(zip(*read_sheets(FORMS_DIR / EXAMPLE_FORM)["settings"], strict=True))["version"]
PHOTO_FIELDS = ("photo_front", "photo_roof", "photo_interior")
# The form's instanceName joins the household's id and its head's name with an en dash.
DASH = " \u2013 "


def example_household(
    *,
    district: str,
    commune: str,
    village: str = "other",
    head: str = "Nguyễn Văn An",
    number: int = 1,
    instance_id: str | None = None,
    photos: dict[str, str] | None = None,
    temporary: bool = False,
    gps: str = "16.4637 107.5909 12.0 6.5",
) -> tuple[str, bytes]:
    """(instanceID, XML) of one household: two members, a semi-permanent house (or a temporary one), near-poor."""
    instance_id = instance_id or new_instance_id()
    photos = photos or {}
    hh_id = f"46-{commune}-{village}-{number}"
    roof = "n_thatch" if temporary else "d_sheet_firm"
    members = "".join(
        f"<members><m_idx>{i}</m_idx><m_name>{escape(name)}</m_name><m_rel>{rel}</m_rel><m_sex>{sex}</m_sex>"
        f"<m_age>{age}</m_age><m_edu>2</m_edu><m_school/><m_bhyt>yes</m_bhyt><m_work_cap>able</m_work_cap>"
        f"<m_job>own_farm</m_job><m_malnut/><m_dep>0</m_dep><m_d_job>0</m_d_job><m_d_edu>0</m_d_edu>"
        f"<m_d_school>0</m_d_school><m_d_bhyt>0</m_d_bhyt><m_d_nutr>0</m_d_nutr></members>"
        for i, (name, rel, sex, age) in enumerate(
            [(head, "head", "male", 46), ("Trần Thị Bình", "spouse", "female", 41)], start=1
        )
    )
    photo_xml = "".join(f"<{field}>{photos.get(field, '')}</{field}>" for field in (*PHOTO_FIELDS, "photo_extra"))
    xml = (
        f'<data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" '
        f'id="household_poverty_review_2023" version="{EXAMPLE_VERSION}">'
        "<start>2023-10-02T08:00:00.000+07:00</start><end>2023-10-02T08:40:00.000+07:00</end>"
        "<today>2023-10-02</today><deviceid>collect:test</deviceid><username>rsv01</username>"
        "<g_intro><intro/><enum_name>Lê Văn Cường</enum_name><review_date>2023-10-02</review_date>"
        "<review_type>periodic</review_type><consent>yes</consent><refusal_reason/></g_intro>"
        f"<g_loc><district>{district}</district><commune>{commune}</commune><area_type>urban</area_type>"
        f"<priority_area>yes</priority_area><village>{village}</village><village_other>Thôn Mới</village_other>"
        f"<address>Kiệt 5</address><hh_gps>{gps}</hh_gps></g_loc>"
        f"<g_hh><hh_no>{number}</hh_no><hh_id>{hh_id}</hh_id><prior_status>near_poor</prior_status>"
        f"<head_name>{escape(head)}</head_name><head_sex>male</head_sex><head_birth_year>1977</head_birth_year>"
        "<head_id_no>046077001234</head_id_no><ethnicity>kinh</ethnicity><phone>0912345678</phone>"
        "<hh_flags>none</hh_flags><hh_size>2</hh_size></g_hh>"
        f"{members}"
        "<g_income><inc_note/><inc_agri>24000</inc_agri><inc_wage>12000</inc_wage><inc_business>0</inc_business>"
        "<inc_pension>0</inc_pension><inc_other>0</inc_other><inc_pc_month>1500000</inc_pc_month>"
        "<poverty_line>2000000</poverty_line><avg_line>3000000</avg_line><assets>tv motorbike</assets>"
        "<prod_land_m2>500</prod_land_m2><big_livestock>1</big_livestock><income_plausible>yes</income_plausible>"
        "</g_income>"
        "<g_services><water_source>piped</water_source><toilet_type>septic</toilet_type>"
        "<internet_use>yes</internet_use><info_devices>phone</info_devices></g_services>"
        "<g_house><house_tenure>owned</house_tenure><house_class>ban_kien_co</house_class>"
        f"<floor_material>d_concrete</floor_material><wall_material>d_masonry</wall_material>"
        f"<roof_material>{roof}</roof_material><house_area>36.5</house_area><house_year>1998</house_year>"
        f"<house_condition>good</house_condition><land_ok>yes</land_ok><n_nondurable>{int(temporary)}</n_nondurable>"
        f"<area_pc>18.25</area_pc><temp_house_flag>{'yes' if temporary else 'no'}</temp_house_flag>"
        f"<photo_note/>{photo_xml}<house_support_need/></g_house>"
        "<g_result><dep_count>2</dep_count><classification>near_poor</classification><result_note/></g_result>"
        "<enum_notes/><needs_revisit>no</needs_revisit>"
        f"<meta><instanceID>{instance_id}</instanceID>"
        f"<instanceName>{escape(hh_id)}{DASH}{escape(head)}</instanceName></meta></data>"
    )
    return instance_id, xml.encode()
